import { Logger } from '@nestjs/common';
import { isFinalStatus } from '@orders/contracts';
import type { OrderEventDto, OrderSummaryDto } from '@orders/dto';
import type { ServerResponse } from 'node:http';
import { sseFrame } from './http-rules';
import { OrderEventsHub } from './order-events.hub';

const logger = new Logger('OrderStream');

/**
 * Status events of one order may commit out of order (their handlers run
 * concurrently); the stream sends them in sequence, waiting this long for a
 * missing one before it skips it.
 */
export const GAP_WAIT_MS = 2000;

/**
 * One client's `text/event-stream` of one order: replays what it missed
 * (after Last-Event-ID), then follows the hub's notifications, one event per
 * status change, heartbeats while idle, and ends after the final state or
 * when the client goes away.
 */
export class OrderStream {
  private pumping = false;
  private again = false;
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout;
  private gapSince?: number;
  private gapTimer?: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly res: ServerResponse,
    private readonly summary: Pick<OrderSummaryDto, 'id' | 'customer' | 'createdAt'>,
    private last: number,
    hub: OrderEventsHub,
    private readonly read: (after: number) => Promise<OrderEventDto[]>,
    heartbeatMs: number,
  ) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 3000\n\n');
    // Subscribe before the first read, so nothing committed in between is missed.
    this.unsubscribe = hub.subscribe(summary.id, {
      note: (n) => {
        if (!n || n.sequence > this.last) this.pump();
      },
      close: () => this.end(),
    });
    this.heartbeat = setInterval(() => this.res.write(': heartbeat\n\n'), heartbeatMs);
    this.heartbeat.unref();
    res.on('close', () => this.end());
    this.pump();
  }

  private pump(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.drain().finally(() => {
      this.pumping = false;
    });
  }

  private async drain(): Promise<void> {
    do {
      this.again = false;
      let events: OrderEventDto[];
      try {
        events = await this.read(this.last);
      } catch (e) {
        logger.warn(`cannot read events of ${this.summary.id}: ${(e as Error).message}`);
        return this.end();
      }
      for (const e of events) {
        if (this.closed || e.sequence <= this.last) continue;
        if (e.sequence !== this.last + 1 && !this.gapTimedOut()) break; // the missing event is on its way
        this.gapSince = undefined;
        this.res.write(sseFrame(e.sequence, e.status, e));
        this.last = e.sequence;
        if (isFinalStatus(e.status)) return this.end();
      }
    } while (this.again && !this.closed);
  }

  /** True once a gap in the sequence has lasted GAP_WAIT_MS; until then, re-checks when the wait is over. */
  private gapTimedOut(): boolean {
    const now = Date.now();
    if (this.gapSince === undefined) this.gapSince = now;
    if (now - this.gapSince >= GAP_WAIT_MS) return true;
    clearTimeout(this.gapTimer);
    this.gapTimer = setTimeout(() => this.pump(), GAP_WAIT_MS - (now - this.gapSince) + 5);
    this.gapTimer.unref();
    return false;
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.gapTimer);
    this.unsubscribe();
    if (!this.res.writableEnded) this.res.end();
  }
}
