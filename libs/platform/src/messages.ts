import { createEnvelope, Envelope, parseEnvelope, PayloadOf, TOPOLOGY } from '@orders/contracts';
import { MessagingOptions } from '@orders/messaging';
import { createHash } from 'node:crypto';

/** The platform's messages, as every service's compile checks them: @OnMessage queues and names, Tx.publish payloads. */
declare module '@orders/messaging' {
  interface Register {
    topology: typeof TOPOLOGY;
  }
}

/** How the platform's envelopes are read (validated against the contracts) and made. */
export const PLATFORM_CODEC: MessagingOptions['codec'] = {
  parse: (raw) => parseEnvelope(raw),
  create: (name, payload, meta) => createEnvelope(name as Envelope['name'], payload as Envelope['payload'], meta),
};

/** A stable UUID-shaped id derived from `seed`: a repeated announcement of the same dead letter is the same message (inbox de-dup). */
export function derivedId(seed: string): string {
  const h = createHash('sha1').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What a body says of itself when it cannot be read as a valid message (a newer version's, say): its id, name and order, if anywhere. */
function lenient(body: Buffer): { id?: string; name?: string; orderId?: string; tenantId?: string } {
  try {
    const env = JSON.parse(body.toString('utf8')) as { id?: unknown; name?: unknown; payload?: { orderId?: unknown; tenantId?: unknown } };
    const str = (v: unknown, max: number) => (typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined);
    const orderId = str(env.payload?.orderId, 36);
    return { id: str(env.id, 36), name: str(env.name, 100), orderId: orderId && UUID.test(orderId) ? orderId : undefined, tenantId: str(env.payload?.tenantId, 64) };
  } catch {
    return {};
  }
}

/**
 * Every dead letter of a message that names an order is announced first as
 * message.dead-lettered.v1 (its id derived from the message's), so
 * order-processing can end that order: also one this version cannot read
 * (a newer version's placement, say), as far as its body names the order.
 * A dead-lettered placement carries the order it would have created.
 */
export const announceDeadLetter: NonNullable<MessagingOptions['announceDeadLetter']> = (d) => {
  if (d.envelope?.name === 'message.dead-lettered.v1' || d.name === 'message.dead-lettered.v1') return undefined;
  const read = d.envelope
    ? { id: d.envelope.id, name: d.envelope.name as string, orderId: (d.envelope.payload as { orderId?: string }).orderId, tenantId: (d.envelope.payload as { tenantId?: string }).tenantId }
    : lenient(d.body);
  if (!read.orderId || !read.id) return undefined;
  const id = derivedId(`${read.id}:dead-lettered:${d.queue}`);
  const payload: PayloadOf<'message.dead-lettered.v1'> = {
    messageId: read.id,
    name: (read.name ?? d.name).slice(0, 100) || 'unknown',
    queue: d.queue,
    reason: d.reason.slice(0, 1000) || 'unknown',
    orderId: read.orderId,
    ...(read.tenantId ? { tenantId: read.tenantId } : {}),
    ...(d.envelope?.name === 'order.placed.v1' ? { placedOrder: d.envelope.payload as PayloadOf<'order.placed.v1'> } : {}),
  };
  return { id, name: 'message.dead-lettered.v1', payload };
};

/** The fields every log line written while a message is handled carries: its order and tenant. */
export const describeMessage: NonNullable<MessagingOptions['describe']> = (env) => {
  const p = env.payload as { orderId?: unknown; tenantId?: unknown };
  return { ...(typeof p.orderId === 'string' ? { orderId: p.orderId } : {}), ...(typeof p.tenantId === 'string' ? { tenant: p.tenantId } : {}) };
};
