/** Statuses after which the same request, with the same Idempotency-Key, may succeed. */
export const RETRYABLE_STATUSES: readonly number[] = [409, 429, 503];

/**
 * The one error the client raises. `statusCode`, `error`, `message` and
 * `details` are the API's error body (`{statusCode, error, message,
 * details?}`); a failure without an answer (network, timeout, a cut stream
 * that could not be resumed) has `statusCode` 0 and `error` `"network"`.
 */
export class OrdersApiError extends Error {
  override readonly name = 'OrdersApiError';

  constructor(
    readonly statusCode: number,
    readonly error: string,
    message: string,
    readonly details?: unknown,
    /** Seconds the server asked to wait (`Retry-After`), when it did. */
    readonly retryAfterSeconds?: number,
    /** The Idempotency-Key of a failed placeOrder: retry later with it, never with a new one. */
    readonly idempotencyKey?: string,
  ) {
    super(message);
  }

  /** True when the same request may succeed later (network errors, 409 in flight, 429, 503). */
  get retryable(): boolean {
    return this.statusCode === 0 || RETRYABLE_STATUSES.includes(this.statusCode);
  }

  get isValidation(): boolean {
    return this.statusCode === 400;
  }

  get isNotFound(): boolean {
    return this.statusCode === 404;
  }

  /** 409 on cancel: the order is already final. 409 on place: the same key is still in flight. */
  get isConflict(): boolean {
    return this.statusCode === 409;
  }

  /** An error body from the API (or a stand-in when the body is not the contract's JSON). */
  static async fromResponse(res: Response, idempotencyKey?: string): Promise<OrdersApiError> {
    const text = await res.text().catch(() => '');
    let body: { error?: unknown; message?: unknown; details?: unknown } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      /* not JSON: keep the status line */
    }
    return new OrdersApiError(
      res.status,
      typeof body.error === 'string' ? body.error : res.statusText || 'Error',
      typeof body.message === 'string' ? body.message : text.slice(0, 200) || `HTTP ${res.status}`,
      body.details,
      retryAfterSeconds(res.headers.get('retry-after')),
      idempotencyKey,
    );
  }

  static network(cause: unknown, idempotencyKey?: string): OrdersApiError {
    const msg = cause instanceof Error ? cause.message : String(cause);
    return new OrdersApiError(0, 'network', `request failed: ${msg}`, undefined, undefined, idempotencyKey);
  }
}

/** `Retry-After` as seconds (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterSeconds(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}
