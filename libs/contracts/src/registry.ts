import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { FINAL_STATUSES, ORDER_STATUSES, OrderStatus } from './messages/common';
import { OrderPlacedV1 } from './messages/order-placed.v1';
import { OrderStatusChangedV1 } from './messages/order-status-changed.v1';
import { OrderCancelRequestedV1 } from './messages/order-cancel-requested.v1';
import { OrderAdmitWaitingV1 } from './messages/order-admit-waiting.v1';
import { InventoryReserveV1 } from './messages/inventory-reserve.v1';
import { InventoryReservedV1 } from './messages/inventory-reserved.v1';
import { InventoryReservationRejectedV1 } from './messages/inventory-reservation-rejected.v1';
import { InventoryCommitV1 } from './messages/inventory-commit.v1';
import { InventoryCommittedV1 } from './messages/inventory-committed.v1';
import { InventoryCommitFailedV1 } from './messages/inventory-commit-failed.v1';
import { InventoryReleaseV1 } from './messages/inventory-release.v1';
import { PaymentAuthorizeV1 } from './messages/payment-authorize.v1';
import { PaymentCaptureV1 } from './messages/payment-capture.v1';
import { PaymentVoidV1 } from './messages/payment-void.v1';
import { MessageDeadLetteredV1 } from './messages/message-dead-lettered.v1';

/**
 * The one map from message name to payload class. Publishers and handlers
 * are typed against it; every message is validated against its class on
 * arrival. A breaking change is a new name (`.v2`). The last group is only
 * read: messages the previous version published, drained after an upgrade.
 */
export const MESSAGES = {
  'order.placed.v1': OrderPlacedV1,
  'order.cancel-requested.v1': OrderCancelRequestedV1,
  'order.status-changed.v1': OrderStatusChangedV1,
  'inventory.reserve.v1': InventoryReserveV1,
  'inventory.reserved.v1': InventoryReservedV1,
  'inventory.reservation-rejected.v1': InventoryReservationRejectedV1,
  'inventory.commit.v1': InventoryCommitV1,
  'inventory.release.v1': InventoryReleaseV1,
  'message.dead-lettered.v1': MessageDeadLetteredV1,
  // drained only
  'order.admit-waiting.v1': OrderAdmitWaitingV1,
  'inventory.committed.v1': InventoryCommittedV1,
  'inventory.commit-failed.v1': InventoryCommitFailedV1,
  'payment.authorize.v1': PaymentAuthorizeV1,
  'payment.capture.v1': PaymentCaptureV1,
  'payment.void.v1': PaymentVoidV1,
} as const;

export type MessageName = keyof typeof MESSAGES;
export type PayloadOf<N extends MessageName> = InstanceType<(typeof MESSAGES)[N]>;
export const isMessageName = (s: string): s is MessageName => Object.prototype.hasOwnProperty.call(MESSAGES, s);

/** Which service publishes each message (for the documentation generated from this file: docs/ARCHITECTURE.md). */
export const PUBLISHERS: Readonly<Record<MessageName, string>> = {
  'order.placed.v1': 'order-receiving (outbox, with the order)',
  'order.cancel-requested.v1': 'order-receiving (a request: order-processing answers with its verdict)',
  'order.status-changed.v1': 'order-processing',
  'inventory.reserve.v1': 'order-processing',
  'inventory.reserved.v1': 'inventory',
  'inventory.reservation-rejected.v1': 'inventory',
  'inventory.commit.v1': 'order-processing',
  'inventory.release.v1': 'order-processing',
  'message.dead-lettered.v1': 'any service, before it parks a message of an order',
  'order.admit-waiting.v1': 'no one (the previous version)',
  'inventory.committed.v1': 'no one (the previous version)',
  'inventory.commit-failed.v1': 'no one (the previous version)',
  'payment.authorize.v1': 'no one (the previous version)',
  'payment.capture.v1': 'no one (the previous version)',
  'payment.void.v1': 'no one (the previous version)',
};

/**
 * A tenant as one word of a routing key (tenant ids may hold dots): a short
 * hash. Queues bind to a tenant's events by it (notification, for tenants
 * with webhook endpoints).
 */
export const tenantRouteKey = (tenantId: string): string => createHash('sha256').update(tenantId).digest('hex').slice(0, 16);

/** Where a new order waits for admission: a tenant placing a handful of orders, or one placing far more than its share. */
export type PlacementLane = 'quiet' | 'bulk';

/** Bindings to status events of these statuses: `<status>.<tenant key>.<lane>` (`#`: any lane, and the previous version's keys without one). */
const statusRoutes = (statuses: readonly OrderStatus[], lane: PlacementLane | '#') => statuses.map((s) => ({ message: 'order.status-changed.v1', route: `${s}.*.${lane}` }) as const);
/** The previous version's status routing keys (`<status>.<tenant key>`), still published during a rolling upgrade. */
const unlanedStatusRoutes = (statuses: readonly OrderStatus[]) => statuses.map((s) => ({ message: 'order.status-changed.v1', route: `${s}.*` }) as const);
const READ_MODEL_STATUSES = ORDER_STATUSES.filter((s) => s !== 'PENDING');

/**
 * Who consumes what (queue → bindings). Every service declares the whole
 * topology on connect, so a message published before its consumer first
 * started is queued, not dropped. Queue names are logical; the broker name
 * is `${prefix}.${queue}`. A binding `{message, route}` takes only that
 * message's routing keys `name.<route>` (see `route` below).
 */
export const QUEUES = {
  // New orders, in two lanes consumed side by side: a tenant far over its share cannot queue ahead of another's new order.
  'order-processing.placed': [{ message: 'order.placed.v1', route: 'quiet' }, 'order.admit-waiting.v1'],
  'order-processing.placed-bulk': [{ message: 'order.placed.v1', route: 'bulk' }],
  // Cancels alone, answered with a verdict: never behind a backlog of placements, whatever the queue type.
  'order-processing.cancels': ['order.cancel-requested.v1'],
  'order-processing.saga': [
    'inventory.reserved.v1', 'inventory.reservation-rejected.v1', 'message.dead-lettered.v1', 'inventory.committed.v1', 'inventory.commit-failed.v1',
  ],
  'order-processing.payments': ['payment.authorize.v1', 'payment.capture.v1', 'payment.void.v1'],
  'inventory.commands': ['inventory.reserve.v1', 'inventory.commit.v1', 'inventory.release.v1'],
  // Status events by status and lane: the read model takes all but PENDING (intake wrote it), in two lanes consumed
  // side by side (a flood's statuses never hold up another tenant's); email only final ones.
  'order-receiving.status': [...statusRoutes(READ_MODEL_STATUSES, 'quiet'), ...unlanedStatusRoutes(READ_MODEL_STATUSES)],
  'order-receiving.status-bulk': statusRoutes(READ_MODEL_STATUSES, 'bulk'),
  'notification.email': statusRoutes(FINAL_STATUSES, '#'),
  // Bound at run time to the tenants (and statuses) with webhook endpoints: order.status-changed.v1.<status>.<tenantRouteKey>.#
  'notification.webhooks': [{ message: 'order.status-changed.v1', route: null }],
} as const;

export type QueueName = keyof typeof QUEUES;

/** Queues only the previous version published to; still consumed (drained) so nothing in them is lost. */
export const DRAINED_QUEUES: readonly QueueName[] = ['order-processing.payments'];

/**
 * Bindings an earlier version made and this one no longer wants: removed
 * when the topology is declared. A message still in such a queue is moved
 * to where it is consumed now (never dead-lettered for want of a handler).
 */
export const RETIRED_BINDINGS = {
  'order-processing.saga': ['order.cancel-requested.v1'],
  'order-processing.placed': ['order.cancel-requested.v1', 'order.placed.v1'],
  'notification.webhooks': ['order.status-changed.v1'],
  // the `#` routes (any lane, or none) take these over
  'notification.email': unlanedStatusRoutes(FINAL_STATUSES),
} as const;

/** The words after a message's name in its routing key: a status event's status, tenant and lane; a placement's lane. */
export function routeOf(name: string, payload: object): string | undefined {
  if (name === 'order.status-changed.v1') {
    const p = payload as PayloadOf<'order.status-changed.v1'>;
    return `${p.status}.${tenantRouteKey(p.tenantId)}.${p.lane ?? 'quiet'}`;
  }
  if (name === 'order.placed.v1') return (payload as PayloadOf<'order.placed.v1'>).lane ?? 'quiet';
  return undefined;
}

/** The routing key of a message: its name, then the words of routeOf. */
export function routingKeyOf(name: string, payload: object): string {
  const route = routeOf(name, payload);
  return route ? `${name}.${route}` : name;
}

/**
 * The quiet lane's placements and status events leave at once after their
 * commit, never behind a flood's publish waiting for its confirms (under a
 * flood, order-receiving's confirms took 50-80 ms, up to 210 ms, and a
 * light tenant's placement waited up to 175 ms for the publish before it).
 */
export const publishAtOnce = (routingKey: string): boolean => routingKey.endsWith('.quiet');

/** The platform's topology, as @orders/messaging takes it. */
export const TOPOLOGY = { messages: MESSAGES, queues: QUEUES, route: routeOf, retired: RETIRED_BINDINGS, publishAtOnce } as const;
