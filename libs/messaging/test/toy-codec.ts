import { randomUUID } from 'node:crypto';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import type { BusCodec } from '@orders/testing';
import type { MessagingOptions } from '../src/index';
import { TOPOLOGY, ToyMessageName } from './toy-messages';

/** The toy application's envelopes: JSON, validated against the message's class on arrival. */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Codec = MessagingOptions['codec'];
type Envelope = ReturnType<Codec['parse']>;

const isToyMessage = (n: unknown): n is ToyMessageName => typeof n === 'string' && Object.prototype.hasOwnProperty.call(TOPOLOGY.messages, n);

function problems(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((e) => {
    const path = parent ? `${parent}.${e.property}` : e.property;
    return [...Object.values(e.constraints ?? {}).map((m) => `${path}: ${m}`), ...problems(e.children ?? [], path)];
  });
}

function parse(raw: Buffer): Envelope {
  let data: unknown;
  try {
    data = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new Error('body is not JSON');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error('body is not an object');
  const env = data as Record<string, unknown>;
  if (typeof env.id !== 'string' || !UUID.test(env.id)) throw new Error('envelope id must be a UUID');
  if (!isToyMessage(env.name)) throw new Error(`unknown message ${String(env.name)}`);
  if (typeof env.occurredAt !== 'string' || Number.isNaN(Date.parse(env.occurredAt))) throw new Error('occurredAt must be a date');
  if (env.correlationId !== undefined && typeof env.correlationId !== 'string') throw new Error('correlationId must be a string');
  if (typeof env.payload !== 'object' || env.payload === null || Array.isArray(env.payload)) throw new Error(`${env.name}: payload is not an object`);
  const payload = plainToInstance(TOPOLOGY.messages[env.name] as new () => object, env.payload);
  const errors = validateSync(payload, { whitelist: true, forbidUnknownValues: true });
  if (errors.length) throw new Error(`${env.name}: invalid payload: ${problems(errors).join('; ')}`);
  return { id: env.id, name: env.name, occurredAt: env.occurredAt, correlationId: env.correlationId, payload } as Envelope;
}

function create(name: string, payload: object, meta: { id?: string; correlationId?: string }): Envelope {
  return { id: meta.id ?? randomUUID(), name, occurredAt: new Date().toISOString(), correlationId: meta.correlationId, payload } as Envelope;
}

export const TOY_CODEC: Codec = { parse, create };

/** The routing key a toy message is published with (its name, then its route if it has one). */
export function toyRoutingKey(name: string, payload: object): string {
  const route = TOPOLOGY.route(name, payload);
  return route ? `${name}.${route}` : name;
}

/** The same codec for @orders/testing's TestBus. */
export const TOY_BUS_CODEC: BusCodec = { parse, create: (name, payload, meta) => create(name, payload, meta), routingKeyOf: toyRoutingKey };
