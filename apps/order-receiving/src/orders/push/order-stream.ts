import { isFinalStatus } from '@orders/contracts';
import type { OrderEventDto } from '@orders/dto';
import type { ServerResponse } from 'node:http';

/** One SSE frame. */
export function sseFrame(id: number, event: string, data: unknown): string {
  return `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * One client's `text/event-stream` of one order. It is handed the order's
 * events by its OrderFeed (one read shared by every stream of the order),
 * writes those after its Last-Event-ID in sequence, one frame per status
 * change, and ends after the final state or when the client goes away.
 *
 * Status events may commit out of order (their handlers run concurrently, and
 * a deferred one comes back after up to the longest retry tier): a stream
 * waits `gapWaitMs` for a missing sequence before it skips it.
 */
export class OrderStream {
  private closed = false;
  private gapSince?: number;
  private gapTimer?: NodeJS.Timeout;

  constructor(
    private readonly res: ServerResponse,
    /** The last sequence the client has. */
    public last: number,
    private readonly gapWaitMs: number,
    /** Asks the feed to read again (a gap's wait is over). */
    private readonly reread: () => void,
    private readonly onEnd: (s: OrderStream) => void,
  ) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 3000\n\n');
    res.on('close', () => this.end());
    if (res.destroyed) this.end(); // the client left while the order was looked up
  }

  get ended(): boolean {
    return this.closed;
  }

  /** The order's events after some sequence, in order: writes the ones this client has not had. */
  offer(events: readonly OrderEventDto[]): void {
    for (const e of events) {
      if (this.closed) return;
      if (e.sequence <= this.last) continue;
      if (e.sequence !== this.last + 1 && !this.gapTimedOut()) return; // the missing event is on its way
      this.gapSince = undefined;
      this.res.write(sseFrame(e.sequence, e.status, e));
      this.last = e.sequence;
      if (isFinalStatus(e.status)) return this.end();
    }
  }

  heartbeat(): void {
    if (!this.closed) this.res.write(': heartbeat\n\n');
  }

  /** True once a gap in the sequence has lasted gapWaitMs; until then, asks for a re-read when the wait is over. */
  private gapTimedOut(): boolean {
    const now = Date.now();
    if (this.gapSince === undefined) this.gapSince = now;
    if (now - this.gapSince >= this.gapWaitMs) return true;
    clearTimeout(this.gapTimer);
    this.gapTimer = setTimeout(() => this.reread(), this.gapWaitMs - (now - this.gapSince) + 5);
    this.gapTimer.unref();
    return false;
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.gapTimer);
    if (!this.res.writableEnded) this.res.end();
    this.onEnd(this);
  }
}
