import { createHash, randomUUID } from 'node:crypto';
import { Controller, Injectable, Type } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { DUPLICATE, MessageContext, MessagingOptions, OnMessage, oneStatement, Tx, UnitOfWork } from '../src/index';
import type { ToyEnvelope as Envelope, ToyMessageName, ToyQueue, WorkItemV1 } from './toy-messages';

/**
 * The toy application's handlers, one controller per queue, and the knobs a
 * test turns to make them fail, wait or end their process. Every effect is a
 * row in `effects` (queue, job, the transaction it was written in), written
 * with the message's inbox row, so duplicates and lost messages show.
 */

/** What a handler saw of one delivery. */
export interface Seen {
  queue: string;
  attempt: number;
  deferrals: number;
  firstAttemptAt: number;
  at: number;
}

/** Keys are a job id (any queue) or `queue:jobId` (that queue only). */
export const knobs = {
  /** Planned failures (the message's own error) left. */
  failures: new Map<string, number>(),
  /** Deferrals (disposition 'defer') left. */
  deferrals: new Map<string, number>(),
  /** Failures of a dependency (PostgreSQL's 'too many clients') left: handled again in place. */
  blips: new Map<string, number>(),
  /** A statement the database rejects, in the handler's transaction. */
  badSql: new Set<string>(),
  /** Held in the handler until the promise settles; `atGate` while there. */
  gates: new Map<string, Promise<void>>(),
  atGate: new Set<string>(),
  /** While set, every handler waits on it. */
  holdAll: undefined as Promise<void> | undefined,
  /** A job of owner `poison` ends its process (exit code 1) inside its transaction (toy-service.ts sets this). */
  exitOnPoison: false,
  seen: new Map<string, Seen[]>(),
  /** Jobs whose handling succeeded, per queue, in order. */
  done: new Map<string, string[]>(),
};

/** Holds `jobId` in its handler until the returned function is called. */
export function hold(jobId: string): () => void {
  let open!: () => void;
  knobs.gates.set(jobId, new Promise<void>((r) => (open = r)));
  return () => {
    knobs.gates.delete(jobId);
    open();
  };
}

function take(m: Map<string, number>, queue: string, jobId: string): boolean {
  for (const key of [`${queue}:${jobId}`, jobId]) {
    const left = m.get(key) ?? 0;
    if (left > 0) {
      m.set(key, left - 1);
      return true;
    }
  }
  return false;
}

const has = (s: Set<string>, queue: string, jobId: string) => s.has(`${queue}:${jobId}`) || s.has(jobId);

@Injectable()
export class Work {
  constructor(private readonly uow: UnitOfWork) {}

  /** One handling: the knobs, then the effect (and `more`) with the inbox row, once. */
  async handle<N extends ToyMessageName, T>(queue: string, env: Envelope<N>, ctx: MessageContext, more?: (tx: Tx) => T | Promise<T>): Promise<T | undefined> {
    const { jobId, owner } = env.payload as { jobId: string; owner?: string };
    knobs.seen.set(jobId, [...(knobs.seen.get(jobId) ?? []), { queue, attempt: ctx.attempt, deferrals: ctx.deferrals, firstAttemptAt: ctx.firstAttemptAt.getTime(), at: Date.now() }]);
    const gate = knobs.gates.get(jobId);
    if (gate) {
      knobs.atGate.add(jobId);
      await gate;
      knobs.atGate.delete(jobId);
    }
    await knobs.holdAll;
    if (take(knobs.deferrals, queue, jobId)) throw Object.assign(new Error(`not yet for ${jobId}`), { disposition: 'defer' });
    if (take(knobs.failures, queue, jobId)) throw new Error(`planned failure for ${jobId} on ${queue}`);
    if (take(knobs.blips, queue, jobId)) throw Object.assign(new Error('sorry, too many clients already'), { code: '53300' });
    const r = await this.uow.handleOnce(env, async (tx) => {
      await tx.query('INSERT INTO effects (queue, job_id, txid) VALUES ($1, $2, txid_current())', [queue, jobId]);
      if (has(knobs.badSql, queue, jobId)) await tx.query('SELECT 1 / 0');
      if (knobs.exitOnPoison && owner === 'poison') process.exit(1); // mid-transaction, mid-batch: nothing of it commits
      return more?.(tx);
    });
    knobs.done.set(queue, [...(knobs.done.get(queue) ?? []), jobId]);
    return r === DUPLICATE ? undefined : r;
  }
}

const done = (tx: Tx, env: Envelope<'work.requested.v1'> | Envelope<'work.batched.v1'>) =>
  tx.publish('work.done.v1', { jobId: env.payload.jobId, owner: env.payload.owner });

@Controller()
export class JobsConsumer {
  constructor(private readonly work: Work) {}
  @OnMessage('worker.jobs', 'work.requested.v1')
  requested(@Payload() env: Envelope<'work.requested.v1'>, @Ctx() ctx: MessageContext) {
    return this.work.handle('worker.jobs', env, ctx, (tx) => done(tx, env));
  }
  /** Waits for the messages delivered before it. */
  @OnMessage('worker.jobs', 'work.cancelled.v1', { afterEarlier: true })
  cancelled(@Payload() env: Envelope<'work.cancelled.v1'>, @Ctx() ctx: MessageContext) {
    return this.work.handle('worker.jobs', env, ctx);
  }
}

@Controller()
export class BatchConsumer {
  constructor(private readonly work: Work) {}
  @OnMessage('worker.batch', 'work.batched.v1', { batchable: true })
  batched(@Payload() env: Envelope<'work.batched.v1'>, @Ctx() ctx: MessageContext) {
    return this.work.handle('worker.batch', env, ctx, (tx) => done(tx, env));
  }
}

/** A note's effect, with its inbox row, in one statement; a note for owner `nobody` is refused (no effect, no inbox row). */
const NOTE = oneStatement('toy_note', {
  ctes: 'ins AS (INSERT INTO effects (queue, job_id, txid) SELECT $2, $3, txid_current() FROM inbox_row RETURNING 1)',
  select: 'SELECT (SELECT count(*) FROM ins)::int AS n',
  types: ['uuid', 'text'],
  inboxGate: "WHERE $4 <> 'nobody'",
});

@Controller()
export class NotesConsumer {
  constructor(private readonly uow: UnitOfWork) {}
  /** Held while the job's gate is (knobs.gates); refused for owner `nobody`: the message's own error. */
  @OnMessage('worker.notes', 'work.noted.v1', { batchable: true, together: true })
  async noted(@Payload() env: Envelope<'work.noted.v1'>) {
    const gate = knobs.gates.get(env.payload.jobId);
    if (gate) {
      knobs.atGate.add(env.payload.jobId);
      await gate;
      knobs.atGate.delete(env.payload.jobId);
    }
    const [r] = await this.uow.handleOnceInOneStatement<{ n: number }>(env, NOTE, [env.payload.jobId, env.payload.owner]);
    if (r.n === 0 && env.payload.owner === 'nobody') throw new Error(`no note for nobody (${env.payload.jobId})`);
  }
}

@Controller()
export class LedgerConsumer {
  constructor(private readonly work: Work) {}
  @OnMessage('worker.ledger', 'work.done.v1')
  done(@Payload() env: Envelope<'work.done.v1'>, @Ctx() ctx: MessageContext) {
    return this.work.handle('worker.ledger', env, ctx);
  }
}

@Controller()
export class MailerConsumer {
  constructor(private readonly work: Work) {}
  @OnMessage('worker.mailer', 'work.done.v1')
  done(@Payload() env: Envelope<'work.done.v1'>, @Ctx() ctx: MessageContext) {
    return this.work.handle('worker.mailer', env, ctx);
  }
}

@Controller()
export class AuditConsumer {
  constructor(private readonly work: Work) {}
  @OnMessage('worker.audit', 'work.status.v1')
  status(@Payload() env: Envelope<'work.status.v1'>, @Ctx() ctx: MessageContext) {
    return this.work.handle('worker.audit', env, ctx);
  }
}

@Controller()
export class HooksConsumer {
  constructor(private readonly work: Work) {}
  @OnMessage('worker.hooks', 'work.status.v1')
  status(@Payload() env: Envelope<'work.status.v1'>, @Ctx() ctx: MessageContext) {
    return this.work.handle('worker.hooks', env, ctx);
  }
}

export const priceOf = (items: readonly WorkItemV1[]) => items.reduce((n, i) => n + 10 * i.quantity, 0);

@Controller()
export class QuotesConsumer {
  constructor(private readonly work: Work) {}
  /** Answers the requester (after the commit) with the price. */
  @OnMessage('worker.quotes', 'work.quote.v1')
  quote(@Payload() env: Envelope<'work.quote.v1'>, @Ctx() ctx: MessageContext) {
    return this.work.handle('worker.quotes', env, ctx, () => ({ jobId: env.payload.jobId, price: priceOf(env.payload.items) }));
  }
}

/** The controller serving each queue a toy service may own. */
export const CONSUMERS: Readonly<Partial<Record<ToyQueue, Type>>> = {
  'worker.jobs': JobsConsumer,
  'worker.batch': BatchConsumer,
  'worker.notes': NotesConsumer,
  'worker.ledger': LedgerConsumer,
  'worker.mailer': MailerConsumer,
  'worker.audit': AuditConsumer,
  'worker.hooks': HooksConsumer,
  'worker.quotes': QuotesConsumer,
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A stable UUID-shaped id from `seed`: the same dead letter announced twice is one message. */
function derivedId(seed: string): string {
  const h = createHash('sha1').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The job a body names, if it names one (a body that is not a valid message, say). */
function jobIdIn(body: Buffer): string | undefined {
  const m = /"jobId"\s*:\s*"([0-9a-f-]{36})"/i.exec(body.toString('utf8'));
  return m && UUID.test(m[1]) ? m[1] : undefined;
}

/** The toy application's announcement of every dead letter (but its own announcements'). */
export const announceDeadLetter: NonNullable<MessagingOptions['announceDeadLetter']> = (d) => {
  if (d.name === 'work.dead-lettered.v1' || d.envelope?.name === 'work.dead-lettered.v1') return undefined;
  const messageId = d.envelope?.id ?? '';
  const jobId = (d.envelope?.payload as { jobId?: string } | undefined)?.jobId ?? jobIdIn(d.body);
  return {
    id: messageId ? derivedId(`${messageId}:${d.queue}`) : randomUUID(),
    name: 'work.dead-lettered.v1',
    payload: {
      messageId, name: d.name.slice(0, 100) || 'unknown', queue: d.queue, reason: d.reason.slice(0, 1000) || 'unknown',
      ...(jobId ? { jobId } : {}), rawBase64: d.body.toString('base64').slice(0, 4000),
    },
  };
};
