import 'reflect-metadata';
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
 * The one map from message name (= AMQP routing key) to payload class.
 * Publishers and handlers are typed against it; every message is validated
 * against its class on arrival. A breaking change is a new name (`.v2`).
 */
export const MESSAGES = {
  'order.placed.v1': OrderPlacedV1,
  'order.status-changed.v1': OrderStatusChangedV1,
  'order.cancel-requested.v1': OrderCancelRequestedV1,
  'order.admit-waiting.v1': OrderAdmitWaitingV1,
  'inventory.reserve.v1': InventoryReserveV1,
  'inventory.reserved.v1': InventoryReservedV1,
  'inventory.reservation-rejected.v1': InventoryReservationRejectedV1,
  'inventory.commit.v1': InventoryCommitV1,
  'inventory.committed.v1': InventoryCommittedV1,
  'inventory.commit-failed.v1': InventoryCommitFailedV1,
  'inventory.release.v1': InventoryReleaseV1,
  'payment.authorize.v1': PaymentAuthorizeV1,
  'payment.capture.v1': PaymentCaptureV1,
  'payment.void.v1': PaymentVoidV1,
  'message.dead-lettered.v1': MessageDeadLetteredV1,
} as const;

export type MessageName = keyof typeof MESSAGES;
export type PayloadOf<N extends MessageName> = InstanceType<(typeof MESSAGES)[N]>;
export const isMessageName = (s: string): s is MessageName => Object.prototype.hasOwnProperty.call(MESSAGES, s);

/**
 * Who consumes what. Every service declares the whole topology on connect, so
 * a message published before its consumer first started is queued, not dropped.
 * Queue names here are logical; the broker name is `${prefix}.${queue}`.
 */
export const QUEUES = {
  'order-receiving.status': ['order.status-changed.v1'],
  // New orders wait in their own queue, so the next step of an order already
  // in flight never queues behind a backlog of new ones. A cancel travels with
  // them (at the highest priority): it can overtake its order's placement
  // (remembered as an early cancel) but never trail the order's own saga
  // steps, which a backlog in the saga queue would let happen. A waiting order
  // is started only from here too (order.admit-waiting.v1), so it never starts
  // while a cancel for it is still queued.
  'order-processing.placed': ['order.placed.v1', 'order.cancel-requested.v1', 'order.admit-waiting.v1'],
  'order-processing.saga': [
    'inventory.reserved.v1',
    'inventory.reservation-rejected.v1', 'inventory.committed.v1', 'inventory.commit-failed.v1',
    'message.dead-lettered.v1',
  ],
  'order-processing.payments': ['payment.authorize.v1', 'payment.capture.v1', 'payment.void.v1'],
  'inventory.commands': ['inventory.reserve.v1', 'inventory.commit.v1', 'inventory.release.v1'],
  'notification.email': ['order.status-changed.v1'],
  'notification.webhooks': ['order.status-changed.v1'],
} as const satisfies Record<string, readonly MessageName[]>;

export type QueueName = keyof typeof QUEUES;

/**
 * Queues that honour an AMQP message priority (0 = lowest). New orders are
 * prioritised by their tenant's recent volume, so a tenant flooding the
 * platform cannot push another tenant's order to the back of the line.
 */
export const QUEUE_MAX_PRIORITY = {
  'order-processing.placed': 9,
} as const satisfies Partial<Record<QueueName, number>>;

/**
 * In order-processing.placed a cancel outranks every placement, its own
 * included: a cancel for an order whose placement still waits there is
 * handled first (and remembered), so a cancel accepted while PENDING wins
 * even after a backlog (a broker outage) released both at once.
 */
export const CANCEL_PRIORITY = QUEUE_MAX_PRIORITY['order-processing.placed'];
export const PLACEMENT_MAX_PRIORITY = CANCEL_PRIORITY - 1;

/**
 * order.admit-waiting.v1 goes at the lowest placement priority: behind every
 * cancel (so a cancel queued before a waiting order's turn came is handled
 * first), level with a flooding tenant's placements, behind a quiet one's.
 */
export const ADMIT_PRIORITY = 1;

/**
 * Bindings an earlier version made and this one no longer wants: removed when
 * the topology is declared, so an upgraded broker stops routing there.
 */
export const RETIRED_BINDINGS = {
  'order-processing.saga': ['order.cancel-requested.v1'],
} as const satisfies Partial<Record<QueueName, readonly MessageName[]>>;
