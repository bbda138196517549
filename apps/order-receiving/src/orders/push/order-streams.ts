import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import type { OrderEventDto, OrderSummaryDto } from '@orders/dto';
import type { ServerResponse } from 'node:http';
import { Gauge } from 'prom-client';
import { OrderReceivingEnv } from '../../config';
import { OrdersError } from '../orders.error';
import { ReadModelService } from '../read-model/read-model.service';
import { OrderEventsHub } from './order-events.hub';
import { OrderFeed } from './order-feed';
import { OrderStream } from './order-stream';

/** A stream's place, taken before its order is looked up; released if the stream is never opened. */
export interface StreamSlot {
  tenantId: string;
  orderId: string;
  release(): void;
}

/**
 * The open SSE streams of this instance: at most SSE_MAX_STREAMS_PER_ORDER per
 * order and SSE_MAX_STREAMS_PER_TENANT per tenant (429 beyond), one feed per
 * order (one read per notification, whatever the number of streams), and one
 * heartbeat timer for all of them.
 */
@Injectable()
export class OrderStreams implements BeforeApplicationShutdown {
  private readonly feeds = new Map<string, OrderFeed>();
  private readonly perOrder = new Map<string, number>();
  private readonly perTenant = new Map<string, number>();
  private readonly heartbeat: NodeJS.Timeout;
  private open = 0;

  constructor(private readonly hub: OrderEventsHub, private readonly readModel: ReadModelService, private readonly cfg: OrderReceivingEnv) {
    this.heartbeat = setInterval(() => {
      for (const f of this.feeds.values()) for (const s of f.streams) s.heartbeat();
    }, cfg.SSE_HEARTBEAT_MS);
    this.heartbeat.unref();
    openStreams.count = () => this.open;
  }

  /** Takes a place for one more stream of this order, or refuses with 429 before anything is read. */
  reserve(tenantId: string, orderId: string): StreamSlot {
    if ((this.perOrder.get(orderId) ?? 0) >= this.cfg.SSE_MAX_STREAMS_PER_ORDER) {
      throw new OrdersError('too_many_streams', `too many open streams of order ${orderId}`, { 'retry-after': '5' });
    }
    if ((this.perTenant.get(tenantId) ?? 0) >= this.cfg.SSE_MAX_STREAMS_PER_TENANT) {
      throw new OrdersError('too_many_streams', 'too many open event streams for this tenant', { 'retry-after': '5' });
    }
    bump(this.perOrder, orderId, 1);
    bump(this.perTenant, tenantId, 1);
    this.open++;
    let released = false;
    return {
      tenantId, orderId,
      release: () => {
        if (released) return;
        released = true;
        bump(this.perOrder, orderId, -1);
        bump(this.perTenant, tenantId, -1);
        this.open--;
      },
    };
  }

  /** Opens the stream in its slot: replays what the client missed after `last`, then follows the order. */
  start(slot: StreamSlot, res: ServerResponse, summary: Pick<OrderSummaryDto, 'id' | 'customer' | 'createdAt'>, last: number): void {
    let feed = this.feeds.get(slot.orderId);
    if (!feed) {
      const read = (after: number): Promise<OrderEventDto[]> => this.readModel.eventsSince(summary, after);
      feed = new OrderFeed(slot.orderId, this.hub, read, (f) => {
        if (this.feeds.get(f.orderId) === f) this.feeds.delete(f.orderId);
      });
      this.feeds.set(slot.orderId, feed);
    }
    const f = feed;
    const stream = new OrderStream(res, last, this.cfg.sseGapWaitMs, () => f.wake(), (s) => {
      slot.release();
      f.remove(s);
    });
    if (!stream.ended) f.add(stream);
  }

  /** Open streams of one order on this instance. */
  count(orderId: string): number {
    return this.feeds.get(orderId)?.streams.size ?? 0;
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.heartbeat);
  }
}

/** The process's streams (its one OrderStreams). */
const openStreams = { count: (): number => 0 };
new Gauge({
  name: 'orders_sse_streams', help: 'Open order event streams on this instance',
  collect() {
    this.set(openStreams.count());
  },
});

function bump(m: Map<string, number>, k: string, by: number): void {
  const n = (m.get(k) ?? 0) + by;
  if (n <= 0) m.delete(k);
  else m.set(k, n);
}
