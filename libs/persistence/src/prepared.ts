import type { ClientBase } from 'pg';
import { assertIdentifier } from './database';
import { inlineParams, paramLiteral } from './literals';

/**
 * A statement PostgreSQL parses and plans once per connection (SQL
 * `PREPARE`), then runs as `EXECUTE name(literal, …)`: about half the server
 * CPU of sending its text each time (docs/ARCHITECTURE.md, "Prepared
 * statements"). `EXECUTE` is an ordinary statement, so it travels with others
 * in one simple-protocol message like any statement with literal values.
 *
 * Rules for what to prepare: parameter types are declared (never inferred),
 * and the result names its columns (no `*` of a table): PostgreSQL re-plans a
 * prepared statement after a migration, but fails it ("cached plan must not
 * change result type") if its result's columns changed, and a table's `*`
 * changes with every added column.
 */
export interface Prepared {
  readonly name: string;
  readonly text: string;
  /** The types of $1 … $n, in order. */
  readonly types: readonly string[];
}

/** A statement and its parameters, as one part of a message: literal SQL, or a prepared statement with its values. */
export type Statement = string | { readonly prepared: Prepared; readonly params: readonly unknown[] };

const declared = new Map<string, Prepared>();

/** Declares a prepared statement (once, at module load): `name` is its name on every connection. */
export function prepared(name: string, text: string, types: readonly string[]): Prepared {
  assertIdentifier(name, 'prepared statement name');
  const highest = Math.max(0, ...[...text.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
  if (highest !== types.length) throw new Error(`prepared statement ${name}: ${types.length} types for $1 … $${highest}`);
  const known = declared.get(name);
  if (known && known.text !== text) throw new Error(`prepared statement ${name} is declared twice with different text`);
  const p = known ?? Object.freeze({ name, text, types: Object.freeze([...types]) });
  declared.set(name, p);
  return p;
}

/** Which prepared statements each connection has (a new connection has none; PREPARE outlives a rolled-back transaction). */
const onConnection = new WeakMap<ClientBase, Set<string>>();

/** Whether prepared statements are used (off: every statement is sent as text, e.g. behind a pooler in transaction mode); the service's DB_PREPARED_STATEMENTS. */
let enabled = true;
export function usePreparedStatements(on: boolean): void {
  enabled = on;
}

/**
 * The statements as one message for `client`, after preparing on it, in a
 * round trip of their own, those it does not have yet (once per connection
 * and statement; inside a transaction as well: PREPARE is not undone by a
 * rollback). A PREPARE that fails fails the caller, like the statement would.
 */
export async function render(client: ClientBase, statements: readonly Statement[]): Promise<string> {
  if (enabled) await prepareMissing(client, statements);
  return statements.map((s) => (typeof s === 'string' ? s : asText(s.prepared, s.params))).join('; ');
}

/** A statement as text with its values written in (what it runs, without preparing anything): for tests and logs. */
export function statementText(s: Statement): string {
  return typeof s === 'string' ? s : typedText(s.prepared, s.params);
}

/** The statement's text with each value written in as a literal of its declared type. */
const typedText = (p: Prepared, params: readonly unknown[]): string =>
  inlineParams(p.text, params, (v, n) => (v === null || v === undefined ? `NULL::${p.types[n - 1]}` : `${paramLiteral(v)}::${p.types[n - 1]}`));

/** One statement as text: `EXECUTE …` with literal values, or (prepared statements off) the statement itself with them. */
function asText(p: Prepared, params: readonly unknown[]): string {
  if (!enabled) return typedText(p, params);
  if (params.length !== p.types.length) throw new Error(`prepared statement ${p.name}: ${params.length} values for ${p.types.length} parameters`);
  return params.length ? `EXECUTE ${p.name}(${params.map(paramLiteral).join(', ')})` : `EXECUTE ${p.name}`;
}

async function prepareMissing(client: ClientBase, statements: readonly Statement[]): Promise<void> {
  let have = onConnection.get(client);
  const missing = new Map<string, Prepared>();
  for (const s of statements) if (typeof s !== 'string' && !have?.has(s.prepared.name)) missing.set(s.prepared.name, s.prepared);
  if (missing.size === 0) return;
  for (const p of missing.values()) {
    await client.query(`PREPARE ${p.name}${p.types.length ? `(${p.types.join(', ')})` : ''} AS ${p.text}`);
    if (!have) onConnection.set(client, (have = new Set()));
    have.add(p.name);
  }
}

/**
 * Whether `e` says the connection's prepared statements are not what this
 * process thinks: one's result changed under it (a migration changed a
 * column it returns: "cached plan must not change result type"), or one is
 * gone (something ran DEALLOCATE or DISCARD on the session). The connection
 * must go (release it with the error); a new one prepares them again.
 */
export function isStalePlan(e: unknown): boolean {
  const code = (e as { code?: string } | undefined)?.code;
  return (code === '0A000' && /cached plan must not change result type/.test(String((e as Error).message))) || code === '26000';
}
