import { Client } from 'pg';

/** One message to PostgreSQL (one round trip): its text (a named statement's text) and the connection it went on. */
export interface SentStatement {
  text: string;
  client: unknown;
}

/**
 * Every message this process sends to PostgreSQL while `fn` runs, in order
 * (pg's Client.query: one round trip each), whoever sends it: how tests
 * count what a step costs. A statement's first use on a connection
 * (`PREPARE`) is in it too.
 */
export async function statementsSent(fn: () => Promise<unknown>): Promise<SentStatement[]> {
  const proto = Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
  const original = proto.query;
  const sent: SentStatement[] = [];
  proto.query = function (this: unknown, ...a: unknown[]) {
    sent.push({ text: typeof a[0] === 'string' ? a[0] : String((a[0] as { text?: unknown } | undefined)?.text ?? ''), client: this });
    return original.apply(this, a);
  };
  try {
    await fn();
  } finally {
    proto.query = original;
  }
  return sent;
}
