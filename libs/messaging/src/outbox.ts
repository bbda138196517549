import { Logger } from '@nestjs/common';
import { prepared, type Prepared, Sql, sqlLiteral, type Statement } from '@orders/persistence';
import type { AmqpConnection, Outgoing } from './connection';
import { outboxPublished } from './metrics';
import { PackCandidate, packMessages } from './packing';
import { Codec, routingKeyOf, Topology } from './schema';
import { captureTraceContext, traceHeaders } from './tracing';

/** A message as it waits in the outbox table: the serialized envelope and its routing key. */
export interface OutboxRow {
  id: string;
  name: string;
  routingKey: string;
  raw: string;
  /** W3C trace context of the transaction that wrote it (JSON), when tracing is on. */
  traceContext: string | null;
  /** Its envelope's correlation id: messages of one correlation keep their order in packs. */
  correlationId?: string;
}

/** How long the relay leaves a row alone that its writer publishes itself after commit. */
export const DIRECT_PUBLISH_GRACE_MS = 5000;

/** How long published rows gather before their DELETE (one transaction for all of them). */
const DELETE_GATHER_MS = 100;

/** The columns of an outbox row, in the order every insert gives them. */
const COLUMNS = 'id, routing_key, body, trace_context, relay_after';

/** An outbox insert: its statement, and whether the rows are the writer's to publish (`seq` selected) or the relay's (NOTIFY on commit). */
export interface OutboxInsert {
  sql: Statement;
  direct: boolean;
}

/** The relay_after of a row written now (SQL): a direct row is the relay's only if its writer failed to publish it. */
const relayAfter = (direct: boolean): string => (direct ? `now() + interval '${DIRECT_PUBLISH_GRACE_MS} milliseconds'` : 'NULL');

/** Rows from arrays $1 … $4 (id, routing_key, body, trace_context), in order: one prepared statement for any number of rows. */
const ROWS = 'unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS r(id, routing_key, body, trace_context, n)';
const INSERT_DIRECT = prepared(
  'outbox_insert_direct',
  `WITH ins AS (INSERT INTO outbox (${COLUMNS}) SELECT id, routing_key, body, trace_context, ${relayAfter(true)} FROM ${ROWS} ORDER BY n RETURNING seq)
   SELECT seq FROM ins`,
  ['uuid[]', 'text[]', 'text[]', 'text[]'],
);
const INSERT_FOR_RELAY = prepared(
  'outbox_insert_for_relay',
  `WITH ins AS (INSERT INTO outbox (${COLUMNS}) SELECT id, routing_key, body, trace_context, ${relayAfter(false)} FROM ${ROWS} ORDER BY n RETURNING seq)
   SELECT pg_notify($5, '') FROM (SELECT count(*) FROM ins) c`,
  ['uuid[]', 'text[]', 'text[]', 'text[]', 'text'],
);
/** Rows the relay publishes once due, $5: each one's delay in milliseconds. */
const INSERT_DELAYED = prepared(
  'outbox_insert_delayed',
  `INSERT INTO outbox (${COLUMNS})
   SELECT id, routing_key, body, trace_context, now() + make_interval(secs => delay_ms / 1000)
     FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::float8[]) AS r(id, routing_key, body, trace_context, delay_ms)`,
  ['uuid[]', 'text[]', 'text[]', 'text[]', 'float8[]'],
);
const WITHDRAW = prepared('outbox_withdraw', 'DELETE FROM outbox WHERE id = ANY($1) RETURNING body', ['uuid[]']);

/** The four arrays of ROWS for `rows`. */
const columnsOf = (rows: readonly OutboxRow[]): unknown[] => [rows.map((r) => r.id), rows.map((r) => r.routingKey), rows.map((r) => r.raw), rows.map((r) => r.traceContext)];


/** A row as a pack candidate of its writer's group (one transaction's rows, kept in order by their order). */
const asCandidate = (group: number) => (r: OutboxRow): PackCandidate => ({ ...toOutgoing(r), group, orderingKey: r.correlationId });

/** The message as it leaves for the exchange. */
export const toOutgoing = (r: OutboxRow): Outgoing => ({
  id: r.id, name: r.name, routingKey: r.routingKey, raw: r.raw, headers: r.traceContext ? traceHeaders(r.traceContext) : undefined,
});

/**
 * The writer's side of the outbox, and the one home of its row format:
 * messages are written in the writer's transaction and, once it committed,
 * published by the writer itself (publisher confirms) and deleted; the relay
 * (OutboxRelay) takes any row the writer could not publish. A row published
 * twice (a slow confirm, a crash between publish and delete) is a duplicate
 * the consumers' inboxes absorb.
 */
export class Outbox {
  private readonly logger = new Logger('Outbox');
  /** Publishes of rows written by this process, still in flight. */
  private readonly direct = new Set<Promise<void>>();
  /** The last DELETE of published rows, and the batch gathering for the next one (deleteSoon). */
  private deleting: Promise<void> = Promise.resolve();
  private gathering?: { seqs: string[]; done: Promise<void> };
  /** Ends the current DELETE_GATHER_MS wait now (flush). */
  private cutGather: () => void = () => undefined;

  constructor(
    private readonly db: Sql,
    private readonly amqp: AmqpConnection,
    private readonly codec: Codec,
    private readonly topology: Topology,
    /** The NOTIFY channel that wakes the relay. */
    readonly channel: string,
    /** Most messages of one routing key sent as one broker message (packing.ts); 1: each on its own. */
    private readonly packMax = 1,
  ) {}

  /**
   * Rows committed while a publish is in flight: they leave together with
   * the next one; `sent`: the publish of their group's rows that went at once.
   */
  private waiting: Array<{ rows: readonly OutboxRow[]; seqs: readonly string[]; sent?: Promise<boolean> }> = [];
  private sending = false;

  /** The row for a message (a new envelope; `id` to derive it from something stable). */
  row(name: string, payload: object, meta: { id?: string; correlationId?: string } = {}): OutboxRow {
    const env = this.codec.create(name, payload, meta);
    return { id: env.id, name, routingKey: routingKeyOf(this.topology, name, payload), raw: JSON.stringify(env), traceContext: captureTraceContext(), correlationId: env.correlationId };
  }

  /** Whether rows written now will be published by their writer right after commit (the broker is there). */
  get publishesDirectly(): boolean {
    return this.amqp.isConnected;
  }

  /**
   * The statement that writes rows inside the writer's transaction, with
   * literal values (it can share a round trip with the COMMIT after it).
   * It selects the rows' seq numbers for `published`; written while the
   * broker is away, the rows are left to the relay, woken on commit.
   */
  insertSql(rows: readonly OutboxRow[]): OutboxInsert {
    const direct = this.publishesDirectly;
    return direct
      ? { sql: { prepared: INSERT_DIRECT, params: columnsOf(rows) }, direct }
      : { sql: { prepared: INSERT_FOR_RELAY, params: [...columnsOf(rows), this.channel] }, direct };
  }

  /**
   * The statement that writes rows for the relay to publish `delayMs` from
   * now (literal values, with the COMMIT's round trip). Until then a
   * transaction may withdraw them (withdrawSql).
   */
  delayedInsertSql(rows: ReadonlyArray<{ row: OutboxRow; delayMs: number }>): Statement {
    return { prepared: INSERT_DELAYED, params: [...columnsOf(rows.map((d) => d.row)), rows.map((d) => Math.round(d.delayMs))] };
  }

  /**
   * A statement that takes back messages published with a delay and not yet
   * sent, by id, returning the envelopes it took back (column `body`): none
   * for one already sent. Run in a UnitOfWork transaction, which tells the
   * relay of this process once it committed: it no longer wakes for them (a
   * PROCESSING event its order's final one carried, say), so a flood's
   * withdrawn events cost it nothing. Rows another process wrote wake that
   * one's relay as before.
   */
  withdrawSql(ids: readonly string[]): { prepared: typeof WITHDRAW; params: readonly unknown[] } {
    return { prepared: WITHDRAW, params: [ids] };
  }

  /** The ids `s` takes back if it is a withdrawSql statement (UnitOfWork keeps them until the commit), else none. */
  withdrawnBy(s: { readonly prepared: Prepared; readonly params: readonly unknown[] }): readonly string[] {
    return s.prepared === WITHDRAW ? (s.params[0] as readonly string[]) : [];
  }

  /** After the commit of a transaction that ran withdrawSql: the relay forgets those rows. */
  withdrawn(ids: readonly string[]): void {
    this.relayForget(ids);
  }

  /** Wakes the relay in `inMs`, when the delayed rows `ids` a transaction committed are due (OutboxRelay sets it). */
  relayWake: (inMs: number, ids: readonly string[]) => void = () => undefined;
  /** Tells the relay those delayed rows were taken back (OutboxRelay sets it). */
  relayForget: (ids: readonly string[]) => void = () => undefined;

  /**
   * For a statement that writes many rows of its own at once (intake): the
   * INSERT to use as its CTE, from any SELECT giving (id, routing_key, body,
   * trace_context, relay_after), made by `select` from the relay_after to
   * give. It returns `seq`: the statement hands the seqs to `published`
   * (`direct`), or selects `notify` once to wake the relay on commit.
   */
  insertCte(select: (relayAfter: string) => string): { insert: string; direct: boolean; notify: string } {
    const direct = this.publishesDirectly;
    return { insert: `INSERT INTO outbox (${COLUMNS}) ${select(relayAfter(direct))} RETURNING seq`, direct, notify: `pg_notify(${sqlLiteral(this.channel)}, '')` };
  }

  /**
   * Publishes just-committed rows (with confirms) and deletes them. If the
   * broker refuses or is gone, the rows are handed to the relay at once
   * (relay_after cleared, relay woken); if even that fails, the relay's
   * sweep takes them once their relay_after has passed.
   */
  published(rows: readonly OutboxRow[], seqs: readonly string[]): void {
    if (seqs.length === 0) return;
    if (this.packMax < 2) {
      const p = this.publish(rows.map(toOutgoing), seqs).finally(() => this.direct.delete(p));
      this.direct.add(p);
      return;
    }
    const atOnce = this.topology.publishAtOnce;
    const now = atOnce && this.sending ? rows.filter((r) => atOnce(r.routingKey)) : [];
    if (now.length === rows.length) {
      // a publish is in flight: these go beside it, with their own confirms and DELETE
      const p = this.publish(now.map(asCandidate(0)), seqs).finally(() => this.direct.delete(p));
      this.direct.add(p);
      return;
    }
    let sent: Promise<boolean> | undefined;
    if (now.length > 0) {
      // the rest gather; their DELETE (all the seqs) waits for these to be confirmed as well
      sent = this.amqp.publishConfirmed(packMessages(this.topology, now.map(asCandidate(0)), this.packMax)).then(() => true, () => false);
      const p = sent.then(() => undefined).finally(() => this.direct.delete(p));
      this.direct.add(p);
      rows = rows.filter((r) => !now.includes(r));
    }
    // packed: while one publish waits for its confirms, the rows committed meanwhile gather for the next (never a wait when idle)
    this.waiting.push({ rows, seqs, sent });
    if (this.sending) return;
    this.sending = true;
    const p = this.sendWaiting().finally(() => this.direct.delete(p));
    this.direct.add(p);
  }

  private async sendWaiting(): Promise<void> {
    for (;;) {
      const gathered = this.waiting.splice(0);
      if (gathered.length === 0) {
        this.sending = false;
        return;
      }
      const rows = gathered.flatMap((g, group) => g.rows.map(asCandidate(group)));
      await this.publish(rows, gathered.flatMap((g) => g.seqs), gathered.flatMap((g) => (g.sent ? [g.sent] : [])));
    }
  }

  /** Resolves when every direct publish started so far has settled and its rows are deleted. */
  async flush(): Promise<void> {
    while (this.direct.size > 0) {
      this.cutGather();
      await Promise.allSettled([...this.direct]);
    }
  }

  /** `alsoSent`: publishes of some of these seqs' rows made apart (publishAtOnce); the rows are deleted only if they were confirmed too. */
  private async publish(rows: readonly PackCandidate[], seqs: readonly string[], alsoSent: ReadonlyArray<Promise<boolean>> = []): Promise<void> {
    try {
      await this.amqp.publishConfirmed(this.packMax > 1 ? packMessages(this.topology, rows, this.packMax) : rows);
      if ((await Promise.all(alsoSent)).includes(false)) throw new Error('a publish made at once failed');
    } catch (e) {
      this.logger.warn(`publishing ${rows.length} message(s) after commit failed (${(e as Error).message}); the relay takes them`);
      await this.db
        .query(`WITH h AS (UPDATE outbox SET relay_after = NULL WHERE seq = ANY($1::bigint[]) RETURNING 1) SELECT pg_notify($2, '') FROM (SELECT count(*) FROM h) c`, [seqs, this.channel])
        .catch(() => undefined); // the sweep takes them after relay_after
      return;
    }
    outboxPublished.inc(rows.length);
    // the next publish need not wait for this DELETE; flush() does
    const d = this.deleteSoon(seqs).finally(() => this.direct.delete(d));
    this.direct.add(d);
  }

  /**
   * Deletes published rows, many writers' at once: the rows published within
   * DELETE_GATHER_MS of each other (and while the previous DELETE runs) go in
   * one statement, a transaction of its own every DELETE_GATHER_MS at most
   * instead of one per publish. A row left behind (database away now, or
   * the process gone meanwhile) is published again by the sweep after its
   * relay_after: a duplicate the consumers' inboxes absorb.
   */
  private deleteSoon(seqs: readonly string[]): Promise<void> {
    if (!this.gathering) {
      const batch: string[] = [];
      const done = this.deleting.then(() => this.gatherWait()).then(async () => {
        if (this.gathering?.seqs === batch) this.gathering = undefined; // later rows gather for the next DELETE
        await this.db.query('DELETE FROM outbox WHERE seq = ANY($1::bigint[])', [batch]).catch(() => undefined);
      });
      this.gathering = { seqs: batch, done };
      this.deleting = done;
    }
    this.gathering.seqs.push(...seqs);
    return this.gathering.done;
  }

  /** DELETE_GATHER_MS, cut short by flush(). */
  private gatherWait(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, DELETE_GATHER_MS);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.cutGather = done;
    });
  }
}
