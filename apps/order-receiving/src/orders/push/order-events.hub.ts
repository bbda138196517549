import { BeforeApplicationShutdown, Injectable, OnModuleInit } from '@nestjs/common';
import { isFinalStatus } from '@orders/contracts';
import { PgListener } from '@orders/persistence';
import { OrderReceivingEnv } from '../../config';

export const ORDER_EVENTS_CHANNEL = 'order_events';

/** What a local subscriber hears: a new status row for its order, or `null` = "re-read, you may have missed some". */
export interface OrderNote {
  orderId: string;
  sequence: number;
  status: string;
}
export interface Subscriber {
  note(n: OrderNote | null): void;
  /** The process is shutting down. */
  close(): void;
}

/**
 * One dedicated PostgreSQL LISTEN connection per process on 'order_events'
 * (raised by the read model in the transaction that stores a status change),
 * fanned out in memory to the local subscribers of that order: SSE streams
 * and `Prefer: wait` requests. Any instance can serve any order; nothing polls.
 */
@Injectable()
export class OrderEventsHub implements OnModuleInit, BeforeApplicationShutdown {
  private readonly subs = new Map<string, Set<Subscriber>>();
  private readonly listener: PgListener;

  constructor(cfg: OrderReceivingEnv) {
    this.listener = new PgListener({
      url: cfg.DATABASE_URL,
      channel: ORDER_EVENTS_CHANNEL,
      applicationName: 'order-receiving:order-events',
      onNotify: (payload) => this.dispatch(payload),
      // Anything committed while we were not listening: every subscriber re-reads.
      onListening: () => {
        for (const set of this.subs.values()) for (const s of [...set]) s.note(null);
      },
    });
  }

  async onModuleInit(): Promise<void> {
    await this.listener.start();
  }

  get listening(): boolean {
    return this.listener.listening;
  }

  /** Local subscribers (streams and waiting requests) of one order. */
  subscribers(orderId: string): number {
    return this.subs.get(orderId)?.size ?? 0;
  }

  subscribe(orderId: string, s: Subscriber): () => void {
    let set = this.subs.get(orderId);
    if (!set) this.subs.set(orderId, (set = new Set()));
    set.add(s);
    return () => {
      set.delete(s);
      if (set.size === 0 && this.subs.get(orderId) === set) this.subs.delete(orderId);
    };
  }

  /**
   * Resolves with the final status once the order reaches one, or undefined
   * after `seconds`. Holds no database connection while waiting.
   */
  waitForFinal(orderId: string, seconds: number): Promise<string | undefined> {
    return new Promise((resolve) => {
      const done = (status: string | undefined) => {
        clearTimeout(timer);
        unsubscribe();
        resolve(status);
      };
      const timer = setTimeout(() => done(undefined), seconds * 1000);
      const unsubscribe = this.subscribe(orderId, {
        // A null note (listener reconnected) is not an answer: the caller re-reads the order at the deadline anyway.
        note: (n) => {
          if (n && isFinalStatus(n.status)) done(n.status);
        },
        close: () => done(undefined),
      });
    });
  }

  private dispatch(payload: string | undefined): void {
    let n: OrderNote;
    try {
      n = JSON.parse(payload ?? '') as OrderNote;
    } catch {
      return;
    }
    const set = this.subs.get(n.orderId);
    if (!set) return;
    for (const s of [...set]) s.note(n);
  }

  /** Ends every open stream and wait, so the HTTP server can close. */
  closeAll(): void {
    for (const set of this.subs.values()) for (const s of [...set]) s.close();
    this.subs.clear();
  }

  /** Before the HTTP server and the database pool close: open streams end first. */
  async beforeApplicationShutdown(): Promise<void> {
    this.closeAll();
    await this.listener.stop();
  }
}
