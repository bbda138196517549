import { ArgumentsHost, BadRequestException, Catch, ExceptionFilter, HttpException, HttpStatus, Logger, ValidationError, ValidationPipe } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

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

/** The one validation policy of every HTTP surface: unknown fields rejected, per-field details. */
export function strictValidationPipe(): ValidationPipe {
  return new ValidationPipe({
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

/**
 * Every error leaves as `{statusCode, error, message, details?}`. Client
 * mistakes caught by Fastify itself (bad JSON, body too large, wrong content
 * type) keep their 4xx status; only a genuine fault is a 500, and it is logged.
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
    } else {
      this.logger.error(exception instanceof Error ? exception.stack ?? exception.message : String(exception));
      body = errorBody(HttpStatus.INTERNAL_SERVER_ERROR, 'internal error');
    }
    reply.status(body.statusCode).headers(headers).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
  }
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
