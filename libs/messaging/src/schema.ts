/**
 * What the library is told about the application's messages: nothing here
 * names a message of any application. The application hands its topology and
 * codec to MessagingModule.forRoot and registers their types once:
 *
 *   declare module '@orders/messaging' { interface Register { topology: typeof MY_TOPOLOGY } }
 *
 * after which @OnMessage, Tx.publish and the handlers' envelopes are checked
 * against it at compile time.
 */

/** A payload class, validated on arrival by the application's codec. */
export type PayloadClass = abstract new (...args: never[]) => object;

/**
 * What a queue receives: every message of a name (routing key `name` or
 * `name.<anything>`), or only those whose routing key is `name.<route>`
 * (`route` is an AMQP topic pattern: words separated by dots, `*` one word,
 * `#` any number); `route: null`: only what the service binds at run time
 * (Messaging.setBinding), from its own data.
 */
export type Binding = string | { readonly message: string; readonly route: string | null };

export interface Topology {
  /** Message name → payload class. The name is the first part of the message's routing key. */
  readonly messages: Readonly<Record<string, PayloadClass>>;
  /** Queue (logical name) → what it receives. Every queue is declared by every service, so nothing is dropped for want of one. */
  readonly queues: Readonly<Record<string, readonly Binding[]>>;
  /** The words after the message name in its routing key (e.g. `CONFIRMED`), if the message is routed by its content. */
  readonly route?: (name: string, payload: object) => string | undefined;
  /**
   * Messages (by routing key) their writer publishes right after their
   * commit, beside a publish still waiting for its confirms, instead of
   * gathering behind it for the next pack: what a light tenant's order
   * sends never waits for a flood's confirms (tens to hundreds of ms while
   * the broker is saturated). Unset: every message gathers.
   */
  readonly publishAtOnce?: (routingKey: string) => boolean;
  /**
   * Bindings an earlier version made and this one no longer wants: removed
   * when the topology is declared. A message of that name still found in the
   * queue is moved to where it is consumed now, never dead-lettered for want
   * of a handler.
   */
  readonly retired?: Readonly<Record<string, readonly Binding[]>>;
}

/** The envelope every message travels in: what the library needs of it. */
export interface Envelope<N extends MessageName = MessageName> {
  /** Unique per message; consumers de-duplicate on it. */
  id: string;
  name: N;
  occurredAt: string;
  correlationId?: string;
  payload: PayloadOf<N>;
}

/** How envelopes are made and read (the application validates payloads in `parse`). */
export interface Codec {
  /** Throws for anything that is not a valid envelope of a known message (it is dead-lettered at once). */
  parse(raw: Buffer): Envelope;
  create(name: string, payload: object, meta: { id?: string; correlationId?: string }): Envelope;
}

/** Augmented by the application (see above). */
export interface Register {}

type Registered = Register extends { topology: infer T extends Topology } ? T : Topology;
type BindingMessage<B> = B extends string ? B : B extends { message: infer M extends string } ? M : never;

export type MessageName = keyof Registered['messages'] & string;
export type PayloadOf<N extends MessageName> = InstanceType<Registered['messages'][N]>;
export type QueueName = keyof Registered['queues'] & string;
/** The message names a queue receives. */
export type MessageOf<Q extends QueueName> = Extract<BindingMessage<Registered['queues'][Q][number]>, MessageName>;

export const bindingMessage = (b: Binding): string => (typeof b === 'string' ? b : b.message);

/** The topic pattern a binding is declared with (none for one made at run time). */
export const bindingKey = (b: Binding): string | undefined => (typeof b === 'string' ? `${b}.#` : b.route === null ? undefined : `${b.message}.${b.route}`);

/** The routing key a message is published with: its name, then the words its content routes it by. */
export function routingKeyOf(topology: Topology, name: string, payload: object): string {
  const route = topology.route?.(name, payload);
  return route ? `${name}.${route}` : name;
}

/** Whether an AMQP topic pattern matches a routing key (as the broker's topic exchange decides). */
export function topicMatches(pattern: string, key: string): boolean {
  const p = pattern.split('.');
  const k = key.split('.');
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === k.length;
    if (p[i] === '#') return match(i + 1, j) || (j < k.length && match(i, j + 1));
    if (j === k.length) return false;
    return (p[i] === '*' || p[i] === k[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}

/** The queues whose bindings (now) receive a message published with this routing key. */
export function queuesReceiving(topology: Topology, routingKey: string): string[] {
  return Object.entries(topology.queues)
    .filter(([, bindings]) => bindings.some((b) => {
      const key = bindingKey(b);
      return key !== undefined && topicMatches(key, routingKey);
    }))
    .map(([q]) => q);
}
