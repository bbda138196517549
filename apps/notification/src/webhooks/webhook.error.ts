import { HttpException } from '@nestjs/common';

export type WebhookErrorCode =
  | 'unauthorized' | 'rate_limited' | 'invalid_url' | 'endpoint_not_found' | 'delivery_not_found'
  | 'too_many_endpoints' | 'delivery_pending' | 'endpoint_disabled';

/** Each code maps to the HTTP status a tenant sees. (Webhook work never fails a consumed message on purpose.) */
const STATUS: Record<WebhookErrorCode, number> = {
  unauthorized: 401,
  rate_limited: 429,
  invalid_url: 400,
  endpoint_not_found: 404,
  delivery_not_found: 404,
  too_many_endpoints: 409,
  delivery_pending: 409,
  endpoint_disabled: 409,
};

/** The webhooks module's one error type. */
export class WebhookError extends HttpException {
  constructor(readonly code: WebhookErrorCode, message: string, extra: { details?: unknown; headers?: Record<string, string> } = {}) {
    super({ message, details: extra.details ?? { code }, headers: extra.headers }, STATUS[code]);
  }

  /** A 400 naming `url`, shaped like the validation errors. */
  static invalidUrl(reason: string): WebhookError {
    return new WebhookError('invalid_url', `invalid request: url (${reason})`, { details: [{ field: 'url', errors: [reason] }] });
  }
}
