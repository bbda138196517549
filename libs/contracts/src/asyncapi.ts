import { classToJsonSchema, JsonSchema } from './json-schema';
import { MESSAGES, MessageName, QUEUES } from './registry';

type Ctor = abstract new (...args: never[]) => unknown;

/** What a message name says about itself: `order.placed.v1` → topic `order.placed`, version 1. */
function describeName(name: MessageName): { topic: string; version: string } {
  const m = /^(.*)\.v(\d+)$/.exec(name)!;
  return { topic: m[1], version: m[2] };
}

const ENVELOPE_DESCRIPTION =
  'Every message travels as a JSON envelope {id, name, occurredAt, correlationId?, payload} on the topic exchange ' +
  '`${MQ_PREFIX}.events` with routing key = message name, followed for some messages by words it is routed by ' +
  '(a status event: `.<status>.<tenant key>`; a placement: `.<lane>`); consumers de-duplicate by `id`. The schema below is the payload.';

/** A queue binding as (message name, routing pattern). */
const bindingOf = (b: string | { message: string; route: string | null }): { name: MessageName; pattern: string } =>
  typeof b === 'string'
    ? { name: b as MessageName, pattern: `${b}.#` }
    : { name: b.message as MessageName, pattern: `${b.message}.${b.route ?? '<bound at run time>'}` };

/**
 * The AsyncAPI 3.0 document of the platform's messages, built from the
 * contracts library: one channel and message per entry of `MESSAGES` (routing
 * key, version, payload schema from the class-validator rules every consumer
 * validates with), and one receive operation per entry of `QUEUES`.
 */
export function buildAsyncApiDocument(o: { version?: string; host?: string } = {}): Record<string, unknown> {
  const defs = new Map<Ctor, JsonSchema>();
  const schemaNames = new Map<Ctor, string>();
  const refOf = (c: Ctor): string => {
    if (!schemaNames.has(c)) schemaNames.set(c, c.name);
    return `#/components/schemas/${c.name}`;
  };
  const channels: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const name of Object.keys(MESSAGES) as MessageName[]) {
    const cls = MESSAGES[name] as Ctor;
    classToJsonSchema(cls, defs, refOf);
    const { topic, version } = describeName(name);
    messages[name] = {
      name,
      title: `${topic} (v${version})`,
      summary: `${cls.name}: routing key \`${name}\``,
      contentType: 'application/json',
      payload: { $ref: refOf(cls) },
      'x-message-version': Number(version),
      bindings: { amqp: { messageType: name, bindingVersion: '0.3.0' } },
    };
    channels[name] = {
      address: name,
      title: topic,
      description: `Messages with routing key \`${name}\` (version ${version}) on the \`\${MQ_PREFIX}.events\` topic exchange.`,
      messages: { [name]: { $ref: `#/components/messages/${name}` } },
      bindings: { amqp: { is: 'routingKey', exchange: { name: 'orders.events', type: 'topic', durable: true, autoDelete: false, vhost: '/' }, bindingVersion: '0.3.0' } },
    };
  }
  const operations: Record<string, unknown> = {};
  for (const [queue, bindings] of Object.entries(QUEUES) as Array<[string, ReadonlyArray<string | { message: string; route: string | null }>]>) {
    for (const b of bindings) {
      const { name, pattern } = bindingOf(b);
      operations[`${queue}.${pattern}`.replace(/[^A-Za-z0-9._-]/g, '_')] = {
        action: 'receive',
        title: `${queue.split('.')[0]} consumes ${name}`,
        description: `Queue \`\${MQ_PREFIX}.${queue}\`, bound to \`${pattern}\`.`,
        channel: { $ref: `#/channels/${name}` },
        messages: [{ $ref: `#/channels/${name}/messages/${name}` }],
      };
    }
  }
  const schemas: Record<string, JsonSchema> = {};
  for (const [cls, schema] of defs) schemas[schemaNames.get(cls) ?? cls.name] = schema;
  return {
    asyncapi: '3.0.0',
    info: { title: 'Order platform messages', version: o.version ?? '1', description: ENVELOPE_DESCRIPTION },
    defaultContentType: 'application/json',
    servers: { rabbitmq: { host: o.host ?? 'localhost:5672', protocol: 'amqp', protocolVersion: '0.9.1', description: 'RabbitMQ (names prefixed with MQ_PREFIX, default `orders`)' } },
    channels,
    operations,
    components: { messages, schemas },
  };
}
