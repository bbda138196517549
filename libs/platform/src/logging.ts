import type { IncomingMessage, ServerResponse } from 'node:http';
import { CallHandler, DynamicModule, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { currentMessage } from '@orders/messaging';
import { LoggerModule, PinoLogger } from 'nestjs-pino';
import pino, { DestinationStream, LevelWithSilent, LoggerOptions } from 'pino';
import type { Options as PinoHttpOptions } from 'pino-http';
import pretty from 'pino-pretty';
import { Observable, tap } from 'rxjs';

/** Nest's level names (LOG_LEVEL) to pino's. */
const PINO_LEVEL: Record<string, LevelWithSilent> = { fatal: 'fatal', error: 'error', warn: 'warn', log: 'info', debug: 'debug', verbose: 'trace' };

const REDACTED = '[redacted]';
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;

/** Removes e-mail addresses and credentials from free text (messages, error texts). */
export function scrubLogText(text: string): string {
  return text.replace(EMAIL, '[email]').replace(BEARER, `$1 ${REDACTED}`);
}

/** An error's text as logged: message and stack scrubbed, whatever shape it came in. */
function scrubError(err: unknown): unknown {
  if (typeof err === 'string') return scrubLogText(err);
  if (err && typeof err === 'object') {
    const e = err as { message?: unknown; stack?: unknown };
    return { ...err, ...(typeof e.message === 'string' ? { message: scrubLogText(e.message) } : {}), ...(typeof e.stack === 'string' ? { stack: scrubLogText(e.stack) } : {}) };
  }
  return err;
}

/** What every line written while a message is handled carries (the transport's current message). */
function messageFields(): Record<string, string> {
  const m = currentMessage.getStore();
  if (!m) return {};
  return { messageId: m.messageId, message: m.name, queue: m.queue, ...(m.orderId ? { orderId: m.orderId } : {}), ...(m.tenantId ? { tenant: m.tenantId } : {}) };
}

/** Object paths never written as they are: credentials, secrets and customers' e-mail addresses. */
const REDACT_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'res.headers["set-cookie"]',
  'authorization', 'headers.authorization', '*.authorization', 'token', '*.token', 'secret', '*.secret', 'password', '*.password',
  'API_KEYS', '*.API_KEYS', 'ADMIN_TOKEN', '*.ADMIN_TOKEN', 'EVENTS_TOKEN_SECRET', '*.EVENTS_TOKEN_SECRET',
  'email', '*.email', '*.*.email', '*.*.*.email',
];

export interface LoggingOptions {
  /** Nest level name (LOG_LEVEL). */
  level?: string;
  /** JSON lines (production) or readable lines (development). Default: JSON when NODE_ENV=production. */
  json?: boolean;
  /** Where lines go; default stdout. */
  destination?: DestinationStream;
}

type Req = IncomingMessage & { id?: string | number; url?: string };

/**
 * Structured logs for every service (pino through nestjs-pino): JSON in
 * production, readable otherwise. Each line written while handling a message
 * carries its messageId, orderId, tenant and queue (the transport's
 * currentMessage); each line of an HTTP request carries its req.id (Fastify's, from
 * `x-request-id` when given) and, once known,
 * the orderId and tenant (LogContextInterceptor). Credentials, tokens and
 * e-mail addresses are redacted from objects and scrubbed from text; URLs
 * are logged without their query (event-stream links carry a token).
 */
export function loggingModule(o: LoggingOptions = {}): DynamicModule {
  const json = o.json ?? process.env.NODE_ENV === 'production';
  const options: LoggerOptions = {
    level: PINO_LEVEL[o.level ?? 'log'] ?? 'info',
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    mixin: messageFields,
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((a) => (typeof a === 'string' ? scrubLogText(a) : a)) as Parameters<typeof method>);
      },
    },
    formatters: { log: (obj) => ('err' in obj ? { ...obj, err: scrubError(obj.err) } : obj) },
  };
  const http: PinoHttpOptions = {
    ...options,
    // A line per request at debug, per failed one (5xx) at error: nothing per request at the default level.
    customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) => (err || res.statusCode >= 500 ? 'error' : 'debug'),
    autoLogging: { ignore: (req: IncomingMessage) => /^\/(metrics|health)\b/.test(req.url ?? '') },
    serializers: {
      req: (req: Req) => ({ id: req.id, method: req.method, url: (req.url ?? '').split('?')[0] }),
      res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
    },
  };
  const stream = o.destination ?? (json ? pino.destination(1) : pretty({ sync: true, colorize: process.stdout.isTTY, singleLine: true, ignore: 'pid,hostname,context', messageFormat: '{if context}[{context}] {end}{msg}' }));
  return LoggerModule.forRoot({ pinoHttp: [http, stream], assignResponse: true });
}

/**
 * Adds what an HTTP request is about to its log lines: the order id of the
 * `/orders/:id…` routes (or of the order `POST /orders` created), and the
 * tenant the auth guard found (`request.tenantId`).
 */
@Injectable()
export class LogContextInterceptor implements NestInterceptor {
  constructor(private readonly logger: PinoLogger) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    const req = ctx.switchToHttp().getRequest<{ params?: Record<string, string>; tenantId?: string; routeOptions?: { url?: string } }>();
    const route = req.routeOptions?.url ?? '';
    const onOrders = route === '/orders' || route.startsWith('/orders/');
    const fields: Record<string, string> = {};
    if (onOrders && req.params?.id) fields.orderId = req.params.id;
    if (req.tenantId) fields.tenant = req.tenantId;
    this.assign(fields);
    return next.handle().pipe(
      tap((body: unknown) => {
        const id = (body as { id?: unknown } | undefined)?.id;
        if (onOrders && !fields.orderId && typeof id === 'string') this.assign({ orderId: id });
      }),
    );
  }

  private assign(fields: Record<string, string>): void {
    if (Object.keys(fields).length === 0) return;
    try {
      this.logger.assign(fields);
    } catch {
      /* outside a request's logging context (excluded route) */
    }
  }
}
