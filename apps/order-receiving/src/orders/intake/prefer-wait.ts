import { isFinalStatus } from '@orders/contracts';
import type { OrderDto } from '@orders/dto';
import type { OrderEventsHub } from '../push/order-events.hub';

/**
 * `Prefer: wait=N` (RFC 7240): the order once it is final, or undefined when
 * N seconds pass first. Subscribes before the first read, so a status stored
 * between the two is never missed; reads again only when told something
 * changed (a final status, or the listener reconnected and may have missed
 * one). Holds no database connection while waiting: an in-memory
 * subscription to the LISTEN hub and one timer.
 *
 * `readFirst` false skips the first read (an order created this very moment
 * is PENDING).
 */
export async function finalOrder(hub: OrderEventsHub, orderId: string, seconds: number, read: () => Promise<OrderDto>, readFirst = true): Promise<OrderDto | undefined> {
  const deadline = Date.now() + seconds * 1000;
  let changed = false;
  let closed = false;
  let wake: (() => void) | undefined;
  const unsubscribe = hub.subscribe(orderId, {
    note: (n) => {
      if (n !== null && !isFinalStatus(n.status)) return;
      changed = true;
      wake?.();
    },
    close: () => {
      closed = true;
      wake?.();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    for (let first = true; ; first = false) {
      if (!first || readFirst) {
        changed = false;
        const order = await read();
        if (isFinalStatus(order.status)) return order;
      }
      if (!changed) {
        const left = deadline - Date.now();
        if (closed || left <= 0) return undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, left);
        });
        clearTimeout(timer);
        wake = undefined;
        if (!changed) return undefined; // the deadline, or the process is shutting down
      }
    }
  } finally {
    clearTimeout(timer);
    unsubscribe();
  }
}
