import { AsyncLocalStorage } from 'node:async_hooks';
import type { LoggerService } from '@nestjs/common';
import { currentDelivery } from '@orders/messaging';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import pino, { DestinationStream, Level, LevelWithSilent, Logger as Pino, LoggerOptions } from 'pino';
import pretty from 'pino-pretty';

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
  const m = currentDelivery();
  if (!m) return {};
  return { messageId: m.messageId, message: m.name, queue: m.queue, ...m.fields };
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

/** The HTTP request being handled (set for its whole handling by installRequestLogging). */
interface RequestInFlight {
  request: FastifyRequest & { tenantId?: string };
  reply: FastifyReply;
}
const currentRequest = new AsyncLocalStorage<RequestInFlight>();

const ORDER_LOCATION = /^\/orders\/([^/?]+)$/;
/**
 * What a request's lines say it is about: the order of an `/orders/:id…`
 * route (or the one `POST /orders` created: its Location), and the tenant
 * the auth guard found (`request.tenantId`). Read when a line is written,
 * so a request that writes no line costs nothing.
 */
function aboutRequest({ request, reply }: RequestInFlight): Record<string, string> {
  const out: Record<string, string> = {};
  const route = request.routeOptions?.url ?? '';
  if (route === '/orders' || route.startsWith('/orders/')) {
    const id = (request.params as Record<string, string> | undefined)?.id ?? ORDER_LOCATION.exec(String(reply.getHeader('location') ?? ''))?.[1];
    if (id) out.orderId = id;
  }
  if (request.tenantId) out.tenant = request.tenantId;
  return out;
}

/** What every line carries: the message being handled, or the HTTP request (its id, order and tenant). */
function contextFields(): Record<string, unknown> {
  const r = currentRequest.getStore();
  return r ? { req: { id: r.request.id }, ...aboutRequest(r) } : messageFields();
}

/**
 * The root logger of every service (pino): JSON in production, readable
 * otherwise. Each line written while handling a message carries its
 * messageId, orderId, tenant and queue (the transport's currentMessage);
 * each line of an HTTP request its req.id (Fastify's, from `x-request-id`
 * when given), order id and tenant (installRequestLogging). Credentials,
 * tokens and e-mail addresses are redacted from objects and scrubbed from
 * text. No per-request child logger: the context is read when a line is
 * written.
 */
export function createLogger(o: LoggingOptions = {}): Pino {
  const json = o.json ?? process.env.NODE_ENV === 'production';
  const options: LoggerOptions = {
    level: PINO_LEVEL[o.level ?? 'log'] ?? 'info',
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    mixin: contextFields,
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((a) => (typeof a === 'string' ? scrubLogText(a) : a)) as Parameters<typeof method>);
      },
    },
    formatters: { log: (obj) => ('err' in obj ? { ...obj, err: scrubError(obj.err) } : obj) },
  };
  const stream = o.destination ?? (json ? pino.destination(1) : pretty({ sync: true, colorize: process.stdout.isTTY, singleLine: true, ignore: 'pid,hostname,context', messageFormat: '{if context}[{context}] {end}{msg}' }));
  return pino(options, stream);
}

/**
 * Request context and the line per request: the request is the context of
 * every line written while it is handled, and its completion is one line at
 * debug (error for a 5xx), none for /metrics and /health. URLs are logged
 * without their query (event-stream links carry a token).
 */
export function installRequestLogging(fastify: FastifyInstance, logger: Pino): void {
  fastify.addHook('onRequest', (request, reply, done) => currentRequest.run({ request, reply }, done));
  fastify.addHook('onResponse', (request, reply, done) => {
    const level: Level = reply.statusCode >= 500 ? 'error' : 'debug';
    if (logger.isLevelEnabled(level) && !/^\/(metrics|health)\b/.test(request.url)) {
      logger[level](
        {
          req: { id: request.id, method: request.method, url: request.url.split('?')[0] },
          res: { statusCode: reply.statusCode },
          responseTime: Math.round(reply.elapsedTime),
          ...aboutRequest({ request, reply }),
        },
        'request completed',
      );
    }
    done();
  });
}

/**
 * Nest's logger interface over the root pino logger: `(message, ...params,
 * context)` becomes `{context}` and the message; an object message is
 * merged into the line, an Error becomes `err`; Nest's exception handlers'
 * `(message, stack, context)` becomes an `err` with that stack.
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly pino: Pino) {}

  verbose(message: unknown, ...params: unknown[]): void {
    this.call('trace', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.call('debug', message, params);
  }
  log(message: unknown, ...params: unknown[]): void {
    this.call('info', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.call('warn', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.call('error', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.call('fatal', message, params);
  }

  private call(level: Level, message: unknown, params: unknown[]): void {
    if (!this.pino.isLevelEnabled(level)) return;
    const obj: Record<string, unknown> = {};
    let rest = params;
    if (params.length) {
      obj.context = params[params.length - 1];
      rest = params.slice(0, -1);
    }
    if (message instanceof Error) {
      obj.err = message;
      this.pino[level](obj, ...(rest as []));
    } else if (typeof message === 'object' && message !== null) {
      this.pino[level](Object.assign(obj, message), ...(rest as []));
    } else if (level === 'error' && typeof message === 'string' && rest.length === 1 && typeof rest[0] === 'string' && /\n\s*at /.test(rest[0])) {
      const err = new Error(message);
      err.stack = rest[0];
      this.pino[level]({ ...obj, err });
    } else {
      this.pino[level](obj, String(message), ...(rest as []));
    }
  }
}
