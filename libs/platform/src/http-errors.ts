import {
  ArgumentMetadata, ArgumentsHost, BadRequestException, Catch, ExceptionFilter, HttpException, HttpStatus, Logger, ValidationError, ValidationPipe,
} from '@nestjs/common';
import { fastPathApplies, passesValidation, UNSAFE_TEXT_MESSAGE, unsafeTextPaths } from '@orders/contracts';
import type { ValidatorOptions } from 'class-validator';
import { isDependencyUnavailable } from '@orders/messaging';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  details?: unknown;
}

export interface FieldError {
  field: string;
  errors: string[];
}

export function fieldErrors(errors: ValidationError[], parent = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const e of errors) {
    const field = parent ? `${parent}.${e.property}` : e.property;
    if (e.constraints) out.push({ field, errors: Object.values(e.constraints) });
    if (e.children?.length) out.push(...fieldErrors(e.children, field));
  }
  return out;
}

/**
 * Before any class rule: no string anywhere in a body, query or path
 * parameter may hold control characters or unpaired surrogates (whatever
 * DTO, whatever field, including ones added later); the 400 names each field.
 */
class SafeTextValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' || metadata.type === 'query' || metadata.type === 'param') {
      const paths = unsafeTextPaths(value, metadata.data ?? '');
      if (paths.length) {
        const details: FieldError[] = paths.map((field) => ({ field, errors: [`${field} ${UNSAFE_TEXT_MESSAGE}`] }));
        throw new BadRequestException({ message: `invalid request: ${paths.join(', ')}`, details });
      }
    }
    return super.transform(value, metadata);
  }

  /** A valid object costs one pass over its rules (passesValidation); only an invalid one builds class-validator's errors. */
  protected override validate(object: object, options?: ValidatorOptions): Promise<ValidationError[]> | ValidationError[] {
    if (fastPathApplies(options) && passesValidation(object)) return [];
    return super.validate(object, options);
  }
}

/** The one validation policy of every HTTP surface: unknown fields rejected, unsafe text rejected, per-field details. */
export function strictValidationPipe(): ValidationPipe {
  return new SafeTextValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    exceptionFactory: (errors) => {
      const details = fieldErrors(errors);
      return new BadRequestException({
        message: `invalid request: ${details.map((d) => d.field).join(', ')}`,
        details,
      });
    },
  });
}

const REASONS: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  406: 'Not Acceptable', 409: 'Conflict', 413: 'Payload Too Large', 415: 'Unsupported Media Type',
  422: 'Unprocessable Entity', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
};

export function errorBody(statusCode: number, message: string, details?: unknown): ErrorBody {
  return { statusCode, error: REASONS[statusCode] ?? 'Error', message, ...(details !== undefined ? { details } : {}) };
}

/** Seconds a client is told to wait (Retry-After) while the database or broker is unreachable. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

/** Bytes of an over-limit request body read and discarded so the client can read its 413 (beyond: the connection is cut). */
export const OVERSIZE_DRAIN_LIMIT_BYTES = 32 * 1024 * 1024;

/**
 * Every error leaves as `{statusCode, error, message, details?}`. Client
 * mistakes caught by Fastify itself (bad JSON, body too large, wrong content
 * type) keep their 4xx status; the database or broker being unreachable is a
 * 503 with Retry-After (isDependencyUnavailable); only a genuine fault is a
 * 500, and it is logged.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    let body: ErrorBody;
    let headers: Record<string, string> = {};
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const res = exception.getResponse();
      // Nest hands Fastify's own errors (body too large, bad JSON) over as plain HttpExceptions with their status.
      if (status === HttpStatus.PAYLOAD_TOO_LARGE) keepReadingOversizeBody(reply, host.switchToHttp().getRequest<FastifyRequest>());
      if (typeof res === 'string') body = errorBody(status, res);
      else {
        const r = res as { message?: unknown; details?: unknown; headers?: Record<string, string> };
        const message = Array.isArray(r.message) ? r.message.join('; ') : String(r.message ?? exception.message);
        body = errorBody(status, message, r.details);
        headers = r.headers ?? {};
      }
    } else if (isClientError(exception)) {
      const e = exception as { statusCode: number; message: string; code?: string };
      body = errorBody(e.statusCode, clientMessage(e));
    } else if (isDependencyUnavailable(exception)) {
      this.logger.warn(`unavailable: ${exception instanceof Error ? exception.message : String(exception)}`);
      body = errorBody(HttpStatus.SERVICE_UNAVAILABLE, 'temporarily unavailable (database or broker unreachable): retry after Retry-After seconds');
      headers = { 'retry-after': String(UNAVAILABLE_RETRY_AFTER_SECONDS) };
    } else {
      this.logger.error(exception instanceof Error ? exception.stack ?? exception.message : String(exception));
      body = errorBody(HttpStatus.INTERNAL_SERVER_ERROR, 'internal error');
    }
    reply.status(body.statusCode).headers(headers).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
  }
}

/**
 * Fastify answers an over-limit body with `Connection: close` and the socket
 * is closed with the rest of the body unread, which resets the connection: a
 * client still sending (Node's fetch) sees a socket error instead of the 413.
 * Instead the connection stays open and the rest of the body is read and
 * discarded, up to OVERSIZE_DRAIN_LIMIT_BYTES; beyond that it is cut.
 */
function keepReadingOversizeBody(reply: FastifyReply, req: FastifyRequest): void {
  reply.removeHeader('connection');
  const raw = req.raw;
  let drained = 0;
  raw.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > OVERSIZE_DRAIN_LIMIT_BYTES) raw.socket.destroy();
  });
  raw.resume();
}

function isClientError(e: unknown): boolean {
  const s = (e as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' && s >= 400 && s < 500;
}

function clientMessage(e: { message: string; code?: string }): string {
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return `malformed JSON body: ${e.message}`;
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'request body is larger than allowed';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported content type: send application/json';
    default:
      return e.message;
  }
}
