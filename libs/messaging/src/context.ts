import { AsyncLocalStorage } from 'node:async_hooks';

/** What is being handled right now: set by the transport around each handler, read by the inbox and by logs. */
export interface CurrentDelivery {
  queue: string;
  messageId: string;
  name: string;
  /** What the application's `describe` hook said of the message (for log lines: an order id, a tenant). */
  fields: Readonly<Record<string, string>>;
}

export const currentDeliveryStore = new AsyncLocalStorage<CurrentDelivery>();

/** The delivery whose handler is running in this async context, if any. */
export function currentDelivery(): CurrentDelivery | undefined {
  return currentDeliveryStore.getStore();
}
