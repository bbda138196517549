import { AsyncLocalStorage } from 'node:async_hooks';
import type { QueueName } from '@orders/contracts';

/** What is being handled right now: set by the transport around each handler, read by the inbox (and logs). */
export interface CurrentMessage {
  queue: QueueName;
  messageId: string;
  name: string;
  orderId?: string;
  tenantId?: string;
}

export const currentMessage = new AsyncLocalStorage<CurrentMessage>();
