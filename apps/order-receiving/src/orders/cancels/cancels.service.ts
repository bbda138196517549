import { Injectable } from '@nestjs/common';
import { CancelVerdict, isFinalStatus, ORDER_STATUSES, OrderStatus } from '@orders/contracts';
import type { CancelAcceptedDto } from '@orders/dto';
import { Messaging } from '@orders/messaging';
import { DataSource } from 'typeorm';
import { OrderReceivingEnv } from '../../config';
import { OrdersError } from '../orders.error';

/** `POST /orders/{id}/cancel`: a request to order-processing, answered with its decision. */
@Injectable()
export class CancelsService {
  constructor(private readonly ds: DataSource, private readonly messaging: Messaging, private readonly cfg: OrderReceivingEnv) {}

  /**
   * Asks order-processing to cancel a non-final order and answers with what
   * it decided, never from this service's read model (which lags): the
   * decision is taken and committed under the order's lock there, whatever
   * the queue type, backlog or outage. No decision within
   * CANCEL_DECISION_WAIT_MS is a 503 (retry: a cancel is idempotent); the
   * request stays queued and may still take effect.
   */
  async requestCancel(tenantId: string, id: string): Promise<CancelAcceptedDto> {
    const [row] = (await this.ds.query('SELECT status FROM orders WHERE id = $1 AND tenant_id = $2', [id, tenantId])) as Array<{ status: OrderStatus }>;
    if (!row) throw new OrdersError('order_not_found', `order ${id} not found`);
    if (isFinalStatus(row.status)) throw new OrdersError('order_final', `order ${id} is already ${row.status} and cannot be cancelled`);
    const request = { orderId: id, tenantId, requestedAt: new Date().toISOString() };
    const verdict = asVerdict(await this.messaging.request('order.cancel-requested.v1', request, this.cfg.CANCEL_DECISION_WAIT_MS, id));
    if (!verdict) {
      throw new OrdersError('cancel_undecided', 'the cancel was sent but not decided in time: ask again (it may still take effect)', { 'retry-after': '2' });
    }
    if (verdict.outcome === 'refused') throw new OrdersError('order_final', `order ${id} was confirmed before the cancel: it stays CONFIRMED`);
    if (verdict.outcome === 'final') throw new OrdersError('order_final', `order ${id} is already ${verdict.status} and cannot be cancelled`);
    return { id, status: verdict.status, cancellationRequested: true, outcome: verdict.outcome };
  }
}

/** order-processing's answer to a cancel request, as far as it is one. */
function asVerdict(reply: unknown): CancelVerdict | undefined {
  const v = reply as Partial<CancelVerdict> | undefined;
  const outcomes: ReadonlyArray<CancelVerdict['outcome']> = ['cancelled', 'will_cancel', 'refused', 'final'];
  return v && outcomes.includes(v.outcome!) && (ORDER_STATUSES as readonly string[]).includes(v.status!) ? (v as CancelVerdict) : undefined;
}
