import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { UnitOfWork } from '@orders/messaging';
import { poolOf, sqlOf } from '@orders/persistence';
import { DataSource } from 'typeorm';
import { InventoryEnv } from '../config';
import { sumBySku } from './reservation-rules';
import { expireOverdue, moveStock, msToNextExpiry } from './stock.sql';

const BATCH = 500;
const MAX_BATCHES_PER_SWEEP = 20;
/** Wake a little after the expiry so the database already sees it as past. */
const SLACK_MS = 5;

/**
 * Returns the stock of reservations that were neither committed nor released
 * in time. Sleeps until the next known expiry (or at most RESERVATION_SWEEP_MS,
 * to pick up reservations made by other instances), then expires everything
 * overdue in set-based batches.
 */
@Injectable()
export class ReservationExpiry implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('ReservationExpiry');
  private timer?: NodeJS.Timeout;
  private wakeAt = Infinity;
  private sweeping?: Promise<void>;
  private sweepAgain = false;
  private stopped = false;

  constructor(private readonly uow: UnitOfWork, private readonly ds: DataSource, private readonly cfg: InventoryEnv) {}

  onApplicationBootstrap(): void {
    this.wakeIn(0);
  }

  /** Stops the timer and lets a running sweep finish while the database is still open. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.sweeping;
  }

  /** Makes sure a sweep runs no later than `ms` from now. */
  wakeIn(ms: number): void {
    if (this.stopped) return;
    const delay = Math.min(Math.max(0, ms), this.cfg.RESERVATION_SWEEP_MS);
    const at = Date.now() + delay;
    if (this.timer && at >= this.wakeAt) return;
    clearTimeout(this.timer);
    this.wakeAt = at;
    this.timer = setTimeout(() => void this.tick(), delay);
  }

  /** Expires every overdue reservation now; returns how many. */
  async sweep(): Promise<number> {
    let total = 0;
    for (let i = 0; i < MAX_BATCHES_PER_SWEEP; i++) {
      const n = await this.uow.transaction(async (tx) => {
        const expired = await expireOverdue(tx, BATCH);
        await moveStock(tx, sumBySku(expired.flat()), 'release');
        return expired.length;
      });
      total += n;
      if (n < BATCH) break;
    }
    return total;
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    this.wakeAt = Infinity;
    if (this.sweeping) {
      this.sweepAgain = true;
      return;
    }
    let next = this.cfg.RESERVATION_SWEEP_MS;
    this.sweeping = (async () => {
      try {
        const n = await this.sweep();
        if (n > 0) this.logger.log(`expired ${n} reservation(s)`);
        const ms = await msToNextExpiry(sqlOf(poolOf(this.ds)));
        if (ms !== null) next = ms + SLACK_MS;
      } catch (err) {
        this.logger.warn(`expiry sweep failed, trying again in ${next} ms: ${(err as Error).message}`);
      }
    })();
    await this.sweeping;
    this.sweeping = undefined;
    if (this.sweepAgain) {
      this.sweepAgain = false;
      next = 0;
    }
    this.wakeIn(next);
  }
}
