import type {
  CancelAcceptedDto, CreateOrderDto, ListOrdersQueryDto, OrderAcceptedDto, OrderDto, OrderListDto, OrderSummaryDto,
} from '@orders/dto';
import { OrdersApiError } from './errors.js';
import { followEvents, FollowOptions, OrderFollower } from './follow.js';

export interface OrdersClientOptions {
  /** Where the storefront API is, e.g. `https://orders.example` (links.events resolve against it). */
  baseUrl: string;
  /** The tenant's API key: server side only. A browser follows `links.events` without one. */
  apiKey?: string;
  /** Attempts of a retryable placeOrder/cancelOrder/getOrder before giving up (default 6). */
  maxAttempts?: number;
  /** First backoff delay, ms (default 200); doubles per attempt with jitter, up to maxDelayMs. */
  baseDelayMs?: number;
  /** Longest wait between attempts, ms, Retry-After included (default 10 000). */
  maxDelayMs?: number;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
}

/** What placeOrder returns: the accepted order (202) or, with `Prefer: wait`, possibly the final order (200). */
export type PlaceResult =
  | { final: false; idempotencyKey: string; accepted: OrderAcceptedDto }
  | { final: true; idempotencyKey: string; order: OrderDto };

export interface PlaceOptions {
  /** The checkout's key. Pass the same one when retrying the same checkout later; generated when absent. */
  idempotencyKey?: string;
  /** `Prefer: wait=N` (1..30 seconds). */
  waitSeconds?: number;
  signal?: AbortSignal;
}

/** A random key for a new checkout (UUID v4). */
export function newIdempotencyKey(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === 'function') return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort() {
      clearTimeout(t);
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * The storefront API, typed by the same DTOs the server validates with.
 *
 * On each error class: network errors (no answer), `409` (same key still in
 * flight), `429` and `503` are retried with exponential backoff and jitter,
 * waiting at least `Retry-After` when the server sends one, always with the
 * same `Idempotency-Key`; everything else (`400` validation, `401`, `404`,
 * `413`, `415`, `422` key reused with another body, `5xx`) is raised at once
 * as an {@link OrdersApiError} carrying the body's `statusCode`, `error`,
 * `message` and `details`.
 */
export class OrdersClient {
  private readonly fetchImpl: typeof fetch;
  private readonly base: string;

  constructor(private readonly o: OrdersClientOptions) {
    this.base = o.baseUrl.replace(/\/+$/, '');
    this.fetchImpl = o.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Places an order: one Idempotency-Key for the checkout, kept across every retry. */
  async placeOrder(order: CreateOrderDto, p: PlaceOptions = {}): Promise<PlaceResult> {
    const idempotencyKey = p.idempotencyKey ?? newIdempotencyKey();
    const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': idempotencyKey };
    if (p.waitSeconds) headers.prefer = `wait=${Math.min(30, Math.max(1, Math.round(p.waitSeconds)))}`;
    const res = await this.request('POST', '/orders', { body: JSON.stringify(order), headers, signal: p.signal, idempotencyKey });
    if (res.status === 200) return { final: true, idempotencyKey, order: (await res.json()) as OrderDto };
    return { final: false, idempotencyKey, accepted: (await res.json()) as OrderAcceptedDto };
  }

  /** Places an order and holds the answer until it is final or `waitSeconds` (default 30) pass (`Prefer: wait`). */
  placeAndWait(order: CreateOrderDto, p: PlaceOptions = {}): Promise<PlaceResult> {
    return this.placeOrder(order, { ...p, waitSeconds: p.waitSeconds ?? 30 });
  }

  async getOrder(id: string, signal?: AbortSignal): Promise<OrderDto> {
    return (await (await this.request('GET', `/orders/${encodeURIComponent(id)}`, { signal })).json()) as OrderDto;
  }

  /** The tenant's orders, newest first, one page per iteration (follows nextCursor to the end). */
  async *listOrders(q: Omit<ListOrdersQueryDto, 'cursor'> = {}, signal?: AbortSignal): AsyncGenerator<OrderSummaryDto[]> {
    let cursor: string | null = null;
    do {
      const params = new URLSearchParams();
      if (q.status) params.set('status', q.status);
      if (q.limit) params.set('limit', String(q.limit));
      if (cursor) params.set('cursor', cursor);
      const qs = params.toString();
      const page = (await (await this.request('GET', `/orders${qs ? `?${qs}` : ''}`, { signal })).json()) as OrderListDto;
      yield page.items;
      cursor = page.nextCursor;
    } while (cursor);
  }

  /** Asks to cancel; a final order raises OrdersApiError 409. */
  async cancelOrder(id: string, signal?: AbortSignal): Promise<CancelAcceptedDto> {
    const res = await this.request('POST', `/orders/${encodeURIComponent(id)}/cancel`, { signal, noRetryOn409: true });
    return (await res.json()) as CancelAcceptedDto;
  }

  /**
   * Follows an order's events to its final state, resuming after dropped
   * connections. Pass the `links` (or the whole 202 body) or the events URL to
   * follow without an API key (browsers), or an order id (needs the API key).
   */
  followOrder(target: string | { links: { events: string } } | { events: string }, o: FollowOptions = {}): OrderFollower {
    let url: string;
    const headers: Record<string, string> = {};
    if (typeof target !== 'string') url = 'links' in target ? target.links.events : target.events;
    else if (target.includes('/')) url = target; // a URL or a path: links.events
    else {
      if (!this.o.apiKey) throw new OrdersApiError(0, 'usage', 'following by order id needs an apiKey; pass links.events instead');
      url = `/orders/${encodeURIComponent(target)}/events`;
      headers.authorization = `Bearer ${this.o.apiKey}`;
    }
    return followEvents(this.resolve(url), headers, this.fetchImpl, o);
  }

  private resolve(pathOrUrl: string): string {
    return /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${this.base}${pathOrUrl.startsWith('/') ? '' : '/'}${pathOrUrl}`;
  }

  /** One call with the retry policy above; resolves with a 2xx response. */
  private async request(
    method: string,
    path: string,
    r: { body?: string; headers?: Record<string, string>; signal?: AbortSignal; idempotencyKey?: string; noRetryOn409?: boolean },
  ): Promise<Response> {
    const headers = { accept: 'application/json', ...(this.o.apiKey ? { authorization: `Bearer ${this.o.apiKey}` } : {}), ...(r.headers ?? {}) };
    // Only requests that are safe to repeat are retried: reads, and writes that carry an Idempotency-Key or are idempotent (cancel).
    const maxAttempts = this.o.maxAttempts ?? 6;
    for (let attempt = 1; ; attempt++) {
      let err: OrdersApiError;
      try {
        const res = await this.fetchImpl(this.resolve(path), { method, headers, body: r.body, signal: r.signal });
        if (res.ok) return res;
        err = await OrdersApiError.fromResponse(res, r.idempotencyKey);
      } catch (e) {
        if (r.signal?.aborted) throw e;
        err = OrdersApiError.network(e, r.idempotencyKey);
      }
      if (!err.retryable || (err.statusCode === 409 && r.noRetryOn409)) throw err;
      if (attempt >= maxAttempts) throw err;
      await sleep(this.backoff(attempt, err.retryAfterSeconds), r.signal);
    }
  }

  /** Exponential backoff with full jitter, never shorter than Retry-After, capped at maxDelayMs. */
  private backoff(attempt: number, retryAfterSeconds?: number): number {
    const cap = this.o.maxDelayMs ?? 10_000;
    const exp = Math.min(cap, (this.o.baseDelayMs ?? 200) * 2 ** (attempt - 1));
    const jittered = exp / 2 + Math.random() * (exp / 2);
    return Math.min(cap, Math.max(jittered, (retryAfterSeconds ?? 0) * 1000));
  }
}
