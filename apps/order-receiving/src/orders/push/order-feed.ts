import { Logger } from '@nestjs/common';
import type { OrderEventDto } from '@orders/dto';
import type { OrderEventsHub } from './order-events.hub';
import type { OrderStream } from './order-stream';

const logger = new Logger('OrderFeed');

/**
 * Every open stream of one order on this instance, behind one subscription
 * to the hub and one reader: a notification costs one database read, fanned
 * out to all of them, however many there are. Reads never overlap; a
 * notification during a read makes one more read after it.
 */
export class OrderFeed {
  readonly streams = new Set<OrderStream>();
  private reading = false;
  private again = false;
  private readonly unsubscribe: () => void;

  constructor(
    readonly orderId: string,
    hub: OrderEventsHub,
    private readonly read: (afterSequence: number) => Promise<OrderEventDto[]>,
    private readonly onEmpty: (feed: OrderFeed) => void,
  ) {
    // Subscribed before the first read, so nothing committed in between is missed.
    this.unsubscribe = hub.subscribe(orderId, {
      note: (n) => {
        if (!n || this.behind(n.sequence)) this.wake();
      },
      close: () => {
        for (const s of [...this.streams]) s.end();
      },
    });
  }

  add(s: OrderStream): void {
    this.streams.add(s);
    this.wake();
  }

  remove(s: OrderStream): void {
    this.streams.delete(s);
    if (this.streams.size === 0) {
      this.unsubscribe();
      this.onEmpty(this);
    }
  }

  /** Reads what the furthest-behind stream lacks and offers it to every stream. */
  wake(): void {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    void this.drain().finally(() => {
      this.reading = false;
    });
  }

  private behind(sequence: number): boolean {
    for (const s of this.streams) if (s.last < sequence) return true;
    return false;
  }

  private async drain(): Promise<void> {
    do {
      this.again = false;
      if (this.streams.size === 0) return;
      let after = Infinity;
      for (const s of this.streams) after = Math.min(after, s.last);
      let events: OrderEventDto[];
      try {
        events = await this.read(after);
      } catch (e) {
        // The clients reconnect (retry: 3000) and resume with Last-Event-ID.
        logger.warn(`cannot read events of ${this.orderId}: ${(e as Error).message}`);
        for (const s of [...this.streams]) s.end();
        return;
      }
      for (const s of [...this.streams]) s.offer(events);
    } while (this.again);
  }
}
