import { randomUUID } from 'node:crypto';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { passesValidation } from './fast-validation';
import { isMessageName, MESSAGES, MessageName, PayloadOf } from './registry';
import { isSafeText, UNSAFE_TEXT_MESSAGE, unsafeTextPaths } from './safe-text';

/** What travels on the wire: a self-describing JSON envelope around the payload. */
export interface Envelope<N extends MessageName = MessageName> {
  /** Unique per message; consumers de-duplicate on it. */
  id: string;
  name: N;
  occurredAt: string;
  /** The request or order that caused it, for tracing across services. */
  correlationId?: string;
  payload: PayloadOf<N>;
}

export function createEnvelope<N extends MessageName>(
  name: N,
  payload: PayloadOf<N>,
  meta: { id?: string; correlationId?: string; occurredAt?: Date } = {},
): Envelope<N> {
  return {
    id: meta.id ?? randomUUID(),
    name,
    occurredAt: (meta.occurredAt ?? new Date()).toISOString(),
    correlationId: meta.correlationId,
    payload,
  };
}

export class InvalidMessageError extends Error {
  constructor(message: string, readonly details: string[] = []) {
    super(details.length ? `${message}: ${details.join('; ')}` : message);
    this.name = 'InvalidMessageError';
  }
}

export function flattenValidationErrors(errors: ValidationError[], parent = ''): string[] {
  const out: string[] = [];
  for (const e of errors) {
    const path = parent ? `${parent}.${e.property}` : e.property;
    for (const msg of Object.values(e.constraints ?? {})) out.push(`${path}: ${msg}`);
    if (e.children?.length) out.push(...flattenValidationErrors(e.children, path));
  }
  return out;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Parses and validates raw bytes from the broker. Throws InvalidMessageError
 * for anything that is not a well-formed envelope of a known message whose
 * payload passes its class's rules. Unknown payload fields are stripped, so a
 * producer may add optional fields to a version without breaking consumers.
 */
export function parseEnvelope(raw: Buffer | string): Envelope {
  let data: unknown;
  try {
    data = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch {
    throw new InvalidMessageError('body is not JSON');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new InvalidMessageError('body is not an object');
  const env = data as Record<string, unknown>;
  if (typeof env.id !== 'string' || !UUID_RE.test(env.id)) throw new InvalidMessageError('envelope id must be a UUID');
  if (typeof env.name !== 'string' || !isMessageName(env.name)) throw new InvalidMessageError(`unknown message name ${String(env.name)}`);
  if (typeof env.occurredAt !== 'string' || Number.isNaN(Date.parse(env.occurredAt))) throw new InvalidMessageError('occurredAt must be a date');
  if (env.correlationId !== undefined && (typeof env.correlationId !== 'string' || !isSafeText(env.correlationId))) {
    throw new InvalidMessageError('correlationId must be a string without control characters');
  }
  const payload = validatePayload(env.name, env.payload);
  return {
    id: env.id,
    name: env.name,
    occurredAt: env.occurredAt,
    correlationId: env.correlationId as string | undefined,
    payload,
  };
}

export function validatePayload<N extends MessageName>(name: N, payload: unknown): PayloadOf<N> {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new InvalidMessageError(`${name}: payload is not an object`);
  }
  // Control characters and lone surrogates: refused in every text field, so a crafted message is dead-lettered at once.
  const unsafe = unsafeTextPaths(payload);
  if (unsafe.length) throw new InvalidMessageError(`${name}: invalid payload`, unsafe.map((p) => `${p}: ${UNSAFE_TEXT_MESSAGE}`));
  const cls = MESSAGES[name] as unknown as new () => PayloadOf<N>;
  const instance = plainToInstance(cls, payload);
  if (passesValidation(instance as object)) return instance; // what validateSync below would find, without its cost
  const errors = validateSync(instance as object, { whitelist: true, forbidUnknownValues: true });
  if (errors.length) throw new InvalidMessageError(`${name}: invalid payload`, flattenValidationErrors(errors));
  return instance;
}
