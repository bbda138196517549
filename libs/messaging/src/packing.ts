import type { Channel, ConsumeMessage } from 'amqplib';
import type { Outgoing } from './connection';
import { queuesReceiving, Topology } from './schema';

/**
 * Packs: several outbox messages with the same routing key leave as one
 * broker message, and so reach each of their queues as one delivery (one
 * publish, one confirm, one ack) instead of one each. Inside, every message
 * keeps its own envelope and id: the consumer unpacks the delivery and
 * handles each one as if it had come alone (its own inbox row, retries,
 * dead letter), and acknowledges the pack once all of them are settled. A
 * pack is never retried, deferred or dead-lettered as a whole: a message of
 * it that fails leaves as a copy of its own, and a pack that comes back
 * unacknowledged is split into single messages before anything runs.
 */

/** The AMQP `type` of a pack. */
export const PACK_TYPE = 'messaging.pack';
/** Header: how many messages the pack holds. */
export const PACK_HEADER = 'x-pack';
/** A pack's body: the envelopes as they were serialized, one per line (JSON never has a raw line break). */
export const PACK_CONTENT_TYPE = 'application/x-ndjson';

export function isPack(msg: ConsumeMessage): boolean {
  return msg.properties.type === PACK_TYPE;
}

/** The bodies of the messages a delivery holds: a pack's, or the delivery's own. */
function unpackedBodies(msg: ConsumeMessage): Buffer[] {
  if (!isPack(msg)) return [msg.content];
  return msg.content
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => Buffer.from(line, 'utf8'));
}

/**
 * The messages of a pack as deliveries of their own: the pack's fields and
 * headers, each message's own id and type (read from its envelope).
 */
export function unpack(msg: ConsumeMessage): ConsumeMessage[] {
  const { [PACK_HEADER]: _count, ...headers } = (msg.properties.headers ?? {}) as Record<string, unknown>;
  return unpackedBodies(msg).map((content) => {
    const { id, name } = idAndName(content);
    return { content, fields: msg.fields, properties: { ...msg.properties, messageId: id, type: name, contentType: 'application/json', headers } };
  });
}

function idAndName(content: Buffer): { id?: string; name?: string } {
  try {
    const e = JSON.parse(content.toString('utf8')) as { id?: unknown; name?: unknown };
    return { id: typeof e.id === 'string' ? e.id : undefined, name: typeof e.name === 'string' ? e.name : undefined };
  } catch {
    return {}; // unreadable: the consumer dead-letters it as it would a single one
  }
}

/** The declared queues a routing key reaches, remembered per topology (bounded: a tenant's keys come and go). */
const reached = new WeakMap<Topology, Map<string, ReadonlySet<string>>>();
function queuesOf(topology: Topology, key: string): ReadonlySet<string> {
  let byKey = reached.get(topology);
  if (!byKey) reached.set(topology, (byKey = new Map()));
  let q = byKey.get(key);
  if (!q) {
    if (byKey.size >= 10_000) byKey.clear();
    byKey.set(key, (q = new Set(queuesReceiving(topology, key))));
  }
  return q;
}

/** An outgoing message, or a pack of several (`count`). */
export interface OutgoingOrPack extends Outgoing {
  count?: number;
}

/**
 * A message to publish, with what says which others it must not overtake:
 * the transaction that wrote it (`group`: the rows of one transaction keep
 * their order) and what it is about (`orderingKey`, the correlation id: the
 * messages of one order keep theirs whichever transaction wrote them).
 * Without a group (the relay's rows) it keeps its order towards every
 * message bound for one of its queues.
 */
export interface PackCandidate extends Outgoing {
  group?: number;
  orderingKey?: string;
}

interface Group {
  key: string;
  queues: ReadonlySet<string>;
  members: PackCandidate[];
  groups: Set<number | undefined>;
  orderingKeys: Set<string>;
}

/**
 * Groups messages into packs by routing key, at most `max` in each (1: no
 * packs). Packs leave in the order they were started, so a message that
 * joins an earlier pack of its key overtakes the messages of the packs
 * started since: it may only where none of them reaches one of its queues
 * (a routing key that reaches no declared queue is taken to reach any),
 * or, where one does, none of those is of its transaction or of its
 * ordering key (messages of unrelated transactions were never ordered: they
 * were published side by side). So no queue receives two messages of one
 * transaction, or of one order, in another order than they were written.
 */
export function packMessages(topology: Topology, messages: readonly PackCandidate[], max: number): OutgoingOrPack[] {
  if (max < 2 || messages.length < 2) return messages.map(strip);
  const queues = (key: string) => queuesOf(topology, key);
  const sharesQueue = (a: ReadonlySet<string>, b: ReadonlySet<string>) => {
    if (a.size === 0 || b.size === 0) return true;
    for (const q of a) if (b.has(q)) return true;
    return false;
  };
  const mayOvertake = (g: Group, m: PackCandidate, mq: ReadonlySet<string>) => {
    if (g.key === m.routingKey || !sharesQueue(g.queues, mq)) return true;
    if (m.group === undefined || g.groups.has(undefined) || g.groups.has(m.group)) return false;
    return m.orderingKey === undefined || !g.orderingKeys.has(m.orderingKey);
  };
  const packs: Group[] = [];
  const open = new Map<string, number>();
  for (const m of messages) {
    const mq = queues(m.routingKey);
    const at = open.get(m.routingKey);
    const target = at !== undefined && packs[at].members.length < max && packs.slice(at + 1).every((g) => mayOvertake(g, m, mq)) ? packs[at] : undefined;
    const g = target ?? { key: m.routingKey, queues: mq, members: [], groups: new Set(), orderingKeys: new Set() };
    if (!target) {
      open.set(m.routingKey, packs.length);
      packs.push(g);
    }
    g.members.push(m);
    g.groups.add(m.group);
    if (m.orderingKey !== undefined) g.orderingKeys.add(m.orderingKey);
  }
  return packs.map(({ members: g }) =>
    g.length === 1
      ? strip(g[0])
      : { id: g[0].id, name: PACK_TYPE, routingKey: g[0].routingKey, raw: g.map((m) => m.raw).join('\n'), headers: g[0].headers, count: g.length },
  );
}

const strip = ({ id, name, routingKey, raw, headers }: PackCandidate): Outgoing => ({ id, name, routingKey, raw, headers });

/**
 * The channel a pack's messages are settled on: each message's ack (or nack)
 * is counted, and once all of them are settled the pack is acknowledged, or,
 * if any of them could not be settled (nacked: the broker going away),
 * returned whole (it comes back and is split; the inboxes absorb what had
 * already been handled).
 */
export function packChannel(ch: Channel, pack: ConsumeMessage, count: number, onError: (e: unknown) => void): Channel {
  let left = count;
  let returnIt = false;
  const settle = (back: boolean) => {
    if (back) returnIt = true;
    if (--left > 0) return;
    try {
      if (returnIt) ch.nack(pack, false, true);
      else ch.ack(pack);
    } catch (e) {
      onError(e); // the channel closed: the broker hands the pack out again
    }
  };
  const settling = { ack: () => settle(false), nack: () => settle(true) };
  return settling as unknown as Channel;
}
