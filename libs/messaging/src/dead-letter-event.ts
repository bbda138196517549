import { createHash } from 'node:crypto';
import { createEnvelope, Envelope, PayloadOf, QueueName } from '@orders/contracts';

/** A stable UUID-shaped id derived from `seed`: a repeated announcement of the same dead letter is the same message (inbox de-dup). */
export function derivedId(seed: string): string {
  const h = createHash('sha1').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * The message.dead-lettered.v1 announcement of a message about to be
 * dead-lettered, when it belongs to an order (its payload names one). None
 * for an announcement itself, or a message that could not even be parsed.
 */
export function deadLetterEvent(queue: QueueName, env: Envelope | undefined, reason: string): { id: string; name: string; raw: string } | undefined {
  if (!env || env.name === 'message.dead-lettered.v1') return undefined;
  const p = env.payload as { orderId?: unknown; tenantId?: unknown };
  if (typeof p.orderId !== 'string') return undefined;
  const id = derivedId(`${env.id}:dead-lettered:${queue}`);
  const out = createEnvelope(
    'message.dead-lettered.v1',
    {
      messageId: env.id,
      name: env.name,
      queue,
      reason: reason.slice(0, 1000) || 'unknown',
      orderId: p.orderId,
      ...(typeof p.tenantId === 'string' ? { tenantId: p.tenantId } : {}),
      // a dead-lettered placement: the order it would have created, so it can still end
      ...(env.name === 'order.placed.v1' ? { placedOrder: env.payload as PayloadOf<'order.placed.v1'> } : {}),
    },
    { id, correlationId: p.orderId },
  );
  return { id, name: out.name, raw: JSON.stringify(out) };
}
