import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { PayloadOf } from '@orders/contracts';
import type { CreateOrderDto, OrderAcceptedDto, OrderDto } from '@orders/dto';
import { Outbox } from '@orders/messaging';
import { deleteInBatches, poolOf, sqlOf } from '@orders/persistence';
import { every, Readiness, ReadinessReport, ReadinessSource } from '@orders/platform';
import { Counter } from 'prom-client';
import { DataSource } from 'typeorm';
import { OrderReceivingEnv } from '../../config';
import { OrdersError } from '../orders.error';
import { eventsToken } from '../push/events-token';
import { OrderEventsHub } from '../push/order-events.hub';
import { ReadModelService } from '../read-model/read-model.service';
import { canonicalOrder, requestHash } from './canonical-order';
import { IntakeBatcher } from './intake-batcher';
import { IntakePacer } from './intake-pacer';
import { finalOrder } from './prefer-wait';
import { TenantLane } from './tenant-lane';

export interface Accepted {
  orderId: string;
  statusCode: number;
  body: OrderAcceptedDto;
  /** false when this is the replay of an earlier request with the same key. */
  created: boolean;
}

/** What POST /orders answers: the accepted (or replayed) 202, or with `Prefer: wait` the final order (200). */
export interface Answer {
  orderId: string;
  statusCode: number;
  body: OrderAcceptedDto | OrderDto;
  /** `Preference-Applied` when the request's `Prefer: wait` was honoured. */
  preferenceApplied?: string;
}

const ordersAccepted = new Counter({
  name: 'orders_accepted_total',
  help: 'POST /orders answered from intake: new orders and idempotent replays',
  labelNames: ['result'] as const,
});

const FIND_KEY_SQL = `SELECT request_hash, order_id, status_code, response, coalesce(held_until > now(), false) AS held
  FROM idempotency_keys WHERE tenant_id = $1 AND key = $2`;

@Readiness('intake')
@Injectable()
export class IntakeService implements OnApplicationBootstrap, OnApplicationShutdown, ReadinessSource {
  private readonly logger = new Logger('Intake');
  private readonly batcher: IntakeBatcher;
  private readonly lanes = new TenantLane();
  private readonly pacer: IntakePacer;
  private pruning?: { stop(): Promise<void> };

  constructor(
    private readonly ds: DataSource,
    private readonly outbox: Outbox,
    private readonly cfg: OrderReceivingEnv,
    private readonly hub: OrderEventsHub,
    private readonly readModel: ReadModelService,
  ) {
    // the DataSource's own pg pool: the intake statement runs as a named prepared statement (planning it per order cost as much as running it)
    this.batcher = new IntakeBatcher(() => poolOf(this.ds), outbox, {
      maxInFlight: Math.max(1, Math.floor(cfg.DB_POOL_SIZE / 4)), maxQueued: cfg.INTAKE_MAX_QUEUED, maxWaitMs: cfg.INTAKE_MAX_WAIT_MS,
    });
    this.pacer = new IntakePacer({ perSecond: cfg.INTAKE_HEAVY_PER_SECOND, activeWindowMs: 1000, maxDelayMs: cfg.INTAKE_HEAVY_MAX_DELAY_MS });
  }

  /**
   * POST /orders: accepts the order (or replays the key's answer), and with
   * `Prefer: wait=N` answers 200 with the order once it is final, or the
   * usual 202 after N seconds. A retry with the same key waits the same way
   * (an order already final answers 200 at once): the storefront's retry
   * gets what its first request would have. The key is held (409 to another
   * request with it) only while the request that created the order waits.
   */
  async answer(tenantId: string, key: string, dto: CreateOrderDto, wait?: number): Promise<Answer> {
    const accepted = await this.place(tenantId, key, dto, wait ? wait + 5 : 0);
    if (!wait) return accepted;
    try {
      const order = await finalOrder(this.hub, accepted.orderId, wait, () => this.readModel.get(tenantId, accepted.orderId), !accepted.created);
      const preferenceApplied = `wait=${wait}`;
      return order ? { orderId: accepted.orderId, statusCode: 200, body: order, preferenceApplied } : { ...accepted, preferenceApplied };
    } finally {
      if (accepted.created) await this.release(tenantId, key);
    }
  }

  /**
   * Accepts an order once per (tenant, Idempotency-Key), in one statement
   * (shared with the orders accepted at the same moment, see IntakeBatcher). `holdSeconds` > 0
   * marks the key as in flight for that long (a `Prefer: wait` request still
   * deciding its answer): the same key meanwhile gets 409.
   */
  async place(tenantId: string, key: string, dto: CreateOrderDto, holdSeconds = 0): Promise<Accepted> {
    const order = canonicalOrder(dto);
    const hash = requestHash(JSON.stringify(order));
    const lane = this.lanes.next(tenantId);
    await this.pacer.admit(lane); // a heavy tenant's order may wait its turn while a light tenant is active
    for (let attempt = 0; attempt < 3; attempt++) {
      const orderId = randomUUID();
      const token = eventsToken(this.cfg.EVENTS_TOKEN_SECRET, tenantId, orderId, Date.now() / 1000 + this.cfg.EVENTS_TOKEN_TTL_SECONDS);
      const body: OrderAcceptedDto = {
        id: orderId,
        status: 'PENDING',
        links: { self: `/orders/${orderId}`, events: `/orders/${orderId}/events?token=${token}` },
      };
      const placedAt = new Date().toISOString();
      const payload: PayloadOf<'order.placed.v1'> = { orderId, tenantId, ...order, placedAt, lane };
      const inserted = await this.batcher.place({
        tenantId, key, requestHash: hash, orderId, response: JSON.stringify(body), holdSeconds,
        customer: JSON.stringify(order.customer), items: JSON.stringify(order.items), couponCode: order.couponCode ?? null,
        shippingAddress: JSON.stringify(order.shippingAddress), placedAt, message: this.outbox.row('order.placed.v1', payload, { correlationId: orderId }),
        heavy: lane === 'bulk',
      });
      if (inserted) {
        ordersAccepted.inc({ result: 'created' });
        return { orderId, statusCode: 202, body, created: true };
      }

      const [prior] = (await this.ds.query(FIND_KEY_SQL, [tenantId, key])) as Array<{
        request_hash: string; order_id: string; status_code: number; response: string; held: boolean;
      }>;
      if (!prior) continue; // pruned in between: try again as new
      if (prior.request_hash !== hash) {
        throw new OrdersError('idempotency_key_reused', 'this Idempotency-Key was already used with a different request body');
      }
      if (prior.held) {
        throw new OrdersError('idempotency_in_flight', 'a request with this Idempotency-Key is still in flight', { 'retry-after': '1' });
      }
      ordersAccepted.inc({ result: 'replayed' });
      return { orderId: prior.order_id, statusCode: prior.status_code, body: JSON.parse(prior.response) as OrderAcceptedDto, created: false };
    }
    throw new Error('idempotency key vanished repeatedly');
  }

  /** /health/ready: down while intake refuses orders or cannot write them in time (see IntakeBatcher.load). */
  readiness(): ReadinessReport {
    const { saturated, ...details } = this.batcher.load();
    return { up: !saturated, details: { ...details, maxQueued: this.cfg.INTAKE_MAX_QUEUED, maxWaitMs: this.cfg.INTAKE_MAX_WAIT_MS } };
  }

  /** The `Prefer: wait` request has answered: the key replays from now on. */
  async release(tenantId: string, key: string): Promise<void> {
    await this.ds
      .query('UPDATE idempotency_keys SET held_until = NULL WHERE tenant_id = $1 AND key = $2', [tenantId, key])
      .catch((e: Error) => this.logger.warn(`cannot release idempotency key: ${e.message}`));
  }

  /** Deletes idempotency keys older than IDEMPOTENCY_TTL_HOURS, in bounded batches. */
  pruneKeys(): Promise<number> {
    return deleteInBatches(sqlOf(poolOf(this.ds)), 'idempotency_keys', 'created_at < now() - make_interval(hours => $1)', [this.cfg.IDEMPOTENCY_TTL_HOURS]);
  }

  onApplicationBootstrap(): void {
    this.pruning = every(this.cfg.IDEMPOTENCY_PRUNE_INTERVAL_MS, async () => void (await this.pruneKeys()), (e) => this.logger.warn(`idempotency key prune failed: ${e.message}`));
  }

  async onApplicationShutdown(): Promise<void> {
    this.pacer.close();
    await this.pruning?.stop();
  }
}
