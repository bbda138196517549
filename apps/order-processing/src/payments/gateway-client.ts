import { Logger } from '@nestjs/common';
import CircuitBreaker from 'opossum';
import { Gauge } from 'prom-client';
import { withClientSpan } from '@orders/platform';
import { backoffDelay } from './backoff';
import { httpCall, HttpAnswer } from './http-call';
import { PaymentError } from './payment.error';

export interface GatewayClientOptions {
  baseUrl: string;
  /** One HTTP attempt is aborted after this long. */
  timeoutMs: number;
  /** Extra attempts after a transient failure, with the same idempotency key. */
  retries: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  breaker: { errorThresholdPercentage: number; volumeThreshold: number; resetTimeoutMs: number; rollingWindowMs: number };
  random?: () => number;
}

export type AuthorizeResult =
  | { outcome: 'authorized'; authorizationId: string }
  | { outcome: 'declined'; reason: string }
  | { outcome: 'invalid'; message: string };

export interface AuthorizeRequest {
  orderId: string;
  amountCents: number;
  currency: string;
  token: string;
}

interface GatewayResponse {
  status: number;
  body: Record<string, unknown>;
}

type Call = [method: string, path: string, body: unknown, idempotencyKey: string];

/** A transient failure of one attempt: counts against the breaker and is retried. */
class TransientError extends Error {}

const breakerOpen = new Gauge({ name: 'payment_gateway_breaker_open', help: '1 while the payment gateway circuit breaker is open' });

/**
 * The payment gateway over HTTP. Each attempt has a timeout that really
 * aborts the request; timeouts, 5xx and connection errors are retried with
 * exponential backoff and full jitter, always with the same idempotency key,
 * behind a circuit breaker that only those failures trip (a decline or a
 * 4xx is an answer, not a failure). When it still fails, or the breaker is
 * open, it throws a retryable PaymentError('gateway_unavailable').
 */
export class GatewayClient {
  private readonly logger = new Logger('PaymentGateway');
  private readonly breaker: CircuitBreaker<Call, GatewayResponse>;

  constructor(private readonly o: GatewayClientOptions) {
    this.breaker = new CircuitBreaker<Call, GatewayResponse>((...call: Call) => this.attempt(...call), {
      timeout: false,
      errorThresholdPercentage: o.breaker.errorThresholdPercentage,
      volumeThreshold: o.breaker.volumeThreshold,
      resetTimeout: o.breaker.resetTimeoutMs,
      rollingCountTimeout: o.breaker.rollingWindowMs,
      rollingCountBuckets: 10,
    });
    this.breaker.on('open', () => {
      breakerOpen.set(1);
      this.logger.warn('circuit breaker opened: payment gateway calls wait in delayed retry');
    });
    this.breaker.on('halfOpen', () => this.logger.log('circuit breaker half-open: trying the gateway'));
    this.breaker.on('close', () => {
      breakerOpen.set(0);
      this.logger.log('circuit breaker closed');
    });
  }

  get isOpen(): boolean {
    return this.breaker.opened;
  }

  async authorize(req: AuthorizeRequest): Promise<AuthorizeResult> {
    const res = await this.call('POST', '/authorizations', req, `${req.orderId}:authorize`);
    if (res.status === 200 || res.status === 201) {
      const id = res.body.id;
      if (typeof id !== 'string' || !id) throw new PaymentError('gateway_protocol', `authorization answer without id: ${JSON.stringify(res.body)}`);
      return { outcome: 'authorized', authorizationId: id };
    }
    if (res.status === 402) return { outcome: 'declined', reason: typeof res.body.reason === 'string' ? res.body.reason : 'declined' };
    if (res.status === 400 || res.status === 422) return { outcome: 'invalid', message: String(res.body.message ?? res.body.error ?? 'invalid payment') };
    throw new PaymentError('gateway_refused', `authorize answered ${res.status}: ${JSON.stringify(res.body)}`);
  }

  async capture(orderId: string, authorizationId: string): Promise<void> {
    await this.settle('capture', orderId, authorizationId);
  }

  async void(orderId: string, authorizationId: string): Promise<void> {
    await this.settle('void', orderId, authorizationId);
  }

  /**
   * The authorization the gateway created under an order's authorize
   * idempotency key, if any: how an authorization whose answer never reached
   * us (timeouts throughout) is found, so it can be voided.
   */
  async findAuthorization(orderId: string): Promise<{ id: string; status: string } | undefined> {
    const key = `${orderId}:authorize`;
    const res = await this.call('GET', `/authorizations?idempotencyKey=${encodeURIComponent(key)}`, undefined, `${orderId}:lookup`);
    if (res.status !== 200) throw new PaymentError('gateway_refused', `authorization lookup answered ${res.status}: ${JSON.stringify(res.body)}`);
    const items = Array.isArray(res.body.items) ? (res.body.items as Array<{ id?: unknown; status?: unknown }>) : [];
    const found = items.find((a) => typeof a.id === 'string');
    return found ? { id: String(found.id), status: String(found.status) } : undefined;
  }

  shutdown(): void {
    this.breaker.shutdown();
  }

  private async settle(action: 'capture' | 'void', orderId: string, authorizationId: string): Promise<void> {
    const res = await this.call('POST', `/authorizations/${encodeURIComponent(authorizationId)}/${action}`, { orderId }, `${orderId}:${action}`);
    if (res.status >= 200 && res.status < 300) return;
    throw new PaymentError('gateway_refused', `${action} answered ${res.status}: ${JSON.stringify(res.body)}`);
  }

  /** Attempts through the breaker, with backoff between transient failures; the key never changes. */
  private async call(...call: Call): Promise<GatewayResponse> {
    let last: unknown;
    for (let attempt = 0; attempt <= this.o.retries; attempt++) {
      if (attempt > 0) await sleep(backoffDelay(attempt - 1, this.o.backoffBaseMs, this.o.backoffMaxMs, this.o.random));
      try {
        return await this.breaker.fire(...call);
      } catch (e) {
        last = e;
        if (this.breaker.opened || isBreakerRejection(e)) break; // open, or half-open with its one probe already out
      }
    }
    const why = this.breaker.opened || isBreakerRejection(last) ? 'circuit breaker open' : last instanceof Error ? last.message : String(last);
    throw new PaymentError('gateway_unavailable', `${call[0]} ${call[1]}: ${why}`);
  }

  private async attempt(method: string, path: string, body: unknown, idempotencyKey: string): Promise<GatewayResponse> {
    let res: HttpAnswer;
    try {
      res = await withClientSpan(`payment-gateway ${method} ${path}`, (trace) =>
        httpCall(new URL(path, this.o.baseUrl), {
          method,
          headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey, ...trace },
          body: body === undefined ? undefined : JSON.stringify(body),
          timeoutMs: this.o.timeoutMs,
        }),
      );
    } catch (e) {
      const err = e as Error & { code?: string };
      throw new TransientError(`${err.message}${err.code && !err.message.includes(err.code) ? ` (${err.code})` : ''}`);
    }
    if (res.status >= 500 || res.status === 408 || res.status === 429) throw new TransientError(`gateway answered ${res.status}`);
    return { status: res.status, body: parseBody(res.text) };
  }
}

function parseBody(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const isBreakerRejection = (e: unknown): boolean => (e as { code?: unknown } | null)?.code === 'EOPENBREAKER';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
