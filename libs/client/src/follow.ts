import type { OrderEventDto } from '@orders/dto';

type OrderStatus = OrderEventDto['status'];
import { OrdersApiError } from './errors.js';
import { parseEventStream } from './sse.js';

const FINAL: readonly string[] = ['CONFIRMED', 'REJECTED', 'FAILED', 'CANCELLED'];

/** One status change of an order (`data:` of its SSE event) with the event's status. */
export type OrderEvent = OrderEventDto & { status: OrderStatus };

export interface FollowOptions {
  /** Resume after this sequence (what the last seen event's `sequence` was). */
  lastEventId?: number;
  /** Gives up after this many reconnects in a row that deliver nothing (default 10). */
  maxReconnects?: number;
  /** Upper bound of the wait between reconnects, ms (default 10 000; the server's `retry:` advice is honoured below it). */
  maxReconnectDelayMs?: number;
  signal?: AbortSignal;
  /** Called for every event, in order, none twice. */
  onEvent?: (e: OrderEvent) => void;
  /** Called once with the final event (CONFIRMED, REJECTED, FAILED, CANCELLED). */
  onFinal?: (e: OrderEvent) => void;
  /** Called when following fails for good (events URL rejected, too many failed reconnects). */
  onError?: (err: OrdersApiError) => void;
  /** Called before each reconnect after a dropped connection. */
  onReconnect?: (attempt: number, lastEventId: number) => void;
}

export interface OrderFollower extends AsyncIterable<OrderEvent> {
  /** Resolves with the final event (rejects if following fails); only when driven by callbacks or iterated. */
  readonly finished: Promise<OrderEvent>;
  /** Stops following (the iterator ends, no callback runs again). */
  close(): void;
}

/** Waits ms, or less when the signal aborts. */
const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * Follows an order's event stream (fetch streaming, not EventSource, so it
 * can send `Last-Event-ID`): yields each status change once, in order; after a
 * dropped connection, a network error, a `5xx` or a `429` it reconnects with
 * the last sequence it saw, so nothing is lost or repeated; a `4xx` (bad
 * token, unknown order) is raised at once. Ends after the final status (or
 * when the server says there is nothing more: `204`).
 */
export function followEvents(
  url: string,
  headers: Record<string, string>,
  fetchImpl: typeof fetch,
  o: FollowOptions = {},
): OrderFollower {
  const ctl = new AbortController();
  if (o.signal) {
    if (o.signal.aborted) ctl.abort();
    else o.signal.addEventListener('abort', () => ctl.abort(), { once: true });
  }
  let last = o.lastEventId ?? 0;
  let retryMs = 1000;

  async function* run(): AsyncGenerator<OrderEvent> {
    let failures = 0;
    while (!ctl.signal.aborted) {
      let res: Response | undefined;
      try {
        res = await fetchImpl(url, {
          headers: { accept: 'text/event-stream', ...headers, ...(last > 0 ? { 'last-event-id': String(last) } : {}) },
          signal: ctl.signal,
        });
      } catch (e) {
        if (ctl.signal.aborted) return;
        if (++failures > (o.maxReconnects ?? 10)) throw OrdersApiError.network(e);
      }
      if (res) {
        if (res.status === 204) return; // final and already seen: nothing more will come
        if (!res.ok || !res.body) {
          const err = await OrdersApiError.fromResponse(res);
          // A server restarting or overloaded (5xx, 429) is waited out like a dropped connection; 4xx (bad token, unknown order) is final.
          if ((res.status < 500 && res.status !== 429) || ++failures > (o.maxReconnects ?? 10)) throw err;
          o.onReconnect?.(failures, last);
          await pause(Math.max(Math.min(retryMs * Math.min(failures, 5), o.maxReconnectDelayMs ?? 10_000), (err.retryAfterSeconds ?? 0) * 1000), ctl.signal);
          continue;
        }
        try {
          for await (const m of parseEventStream(res.body, (ms) => (retryMs = ms))) {
            const seq = m.id !== undefined && /^\d+$/.test(m.id) ? Number(m.id) : undefined;
            if (seq !== undefined && seq <= last) continue; // never repeat an event
            const event = { ...(JSON.parse(m.data) as OrderEventDto), status: m.event as OrderStatus };
            if (seq !== undefined) last = seq;
            failures = 0;
            yield event;
            if (FINAL.includes(event.status)) return;
          }
        } catch (e) {
          if (ctl.signal.aborted) return;
          if (e instanceof SyntaxError) throw new OrdersApiError(0, 'network', `unreadable event: ${e.message}`);
          // the connection dropped mid-stream: resume below
        }
        if (ctl.signal.aborted) return;
        if (++failures > (o.maxReconnects ?? 10)) throw new OrdersApiError(0, 'network', 'event stream keeps dropping; gave up');
      }
      o.onReconnect?.(failures, last);
      await pause(Math.min(retryMs * Math.min(failures, 5), o.maxReconnectDelayMs ?? 10_000), ctl.signal);
    }
  }

  let started: AsyncGenerator<OrderEvent> | undefined;
  let resolveFinished!: (e: OrderEvent) => void;
  let rejectFinished!: (e: unknown) => void;
  const finished = new Promise<OrderEvent>((res, rej) => {
    resolveFinished = res;
    rejectFinished = rej;
  });
  finished.catch(() => undefined); // only observed by those who ask
  const iterate = async function* (): AsyncGenerator<OrderEvent> {
    let final: OrderEvent | undefined;
    try {
      for await (const e of run()) {
        if (FINAL.includes(e.status)) final = e;
        yield e;
      }
      if (final) resolveFinished(final);
      else rejectFinished(new OrdersApiError(0, 'closed', 'stopped before the order was final'));
    } catch (err) {
      rejectFinished(err);
      throw err;
    }
  };
  const follower: OrderFollower = {
    finished,
    close: () => ctl.abort(),
    [Symbol.asyncIterator]() {
      if (started) throw new Error('an order follower can be iterated once');
      started = iterate();
      return started;
    },
  };
  if (o.onEvent || o.onFinal || o.onError) {
    void (async () => {
      try {
        for await (const e of follower) {
          o.onEvent?.(e);
          if (FINAL.includes(e.status)) o.onFinal?.(e);
        }
      } catch (err) {
        o.onError?.(err instanceof OrdersApiError ? err : OrdersApiError.network(err));
      }
    })();
  }
  return follower;
}
