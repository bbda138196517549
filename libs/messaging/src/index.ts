/**
 * @orders/messaging: messages over RabbitMQ with a transactional outbox and
 * inbox on PostgreSQL, for NestJS services. It knows no application's
 * messages: the application hands MessagingModule.forRoot its topology and
 * codec, and registers their types (see Register in schema.ts).
 */
export { MessagingModule, Messaging, startConsumers } from './module';
export type { MessagingOptions } from './module';
export type { Register } from './schema';
export { OnMessage } from './on-message';
export { MessageContext } from './delivery';
export { UnitOfWork, DUPLICATE, oneStatement } from './unit-of-work';
export { inboxSeenSql } from './inbox';
export { Outbox } from './outbox';
export type { Tx, OneStatement } from './unit-of-work';
export { isDependencyUnavailable } from './errors';
export type { Disposition, HasDisposition } from './errors';
export { MESSAGING_MIGRATIONS } from './migrations';
export { DeadLetters, QueueToolError } from './dead-letters';
export { ConsumptionControl } from './consumption-control';
export { currentDelivery } from './context';
export { enableMessageTracing } from './tracing';
