import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { errorBody } from '@orders/platform';
import { SimError } from '../sim.error';
import { AuthorizeDto } from './authorization.dto';
import { Journal, JournalEntry } from './journal';

export type AuthorizationStatus = 'authorized' | 'captured' | 'voided';

export interface Authorization {
  id: string;
  orderId: string;
  status: AuthorizationStatus;
  amountCents: number;
  currency: string;
  createdAt: string;
  updatedAt: string;
}

/** An HTTP answer kept per idempotency key and replayed as it was. */
export interface Answer {
  status: number;
  body: object;
}

/**
 * The gateway's books: authorizations by id and the first answer given to each
 * idempotency key, kept in memory and in the journal (replayed on start, so a
 * restart forgets nothing). Check-then-store runs without an await in between,
 * so two concurrent requests with one key can never both create an authorization.
 */
@Injectable()
export class AuthorizationsService {
  private readonly byId = new Map<string, Authorization>();
  private readonly answers = new Map<string, Answer>();

  constructor(private readonly maxEntries: number, private readonly journal: Journal = new Journal(null)) {
    journal.replay((e) => this.apply(e));
  }

  /** The answer for this key: the stored one if the key was seen, otherwise a new decision (stored). */
  authorize(key: string, dto: AuthorizeDto): Answer & { replayed: boolean } {
    const stored = this.answers.get(key);
    if (stored) return { ...stored, replayed: true };
    const answer = this.decide(dto);
    remember(this.answers, key, answer, this.maxEntries);
    this.journal.append(Journal.answer(key, answer));
    return { ...answer, replayed: false };
  }

  capture(id: string): Authorization {
    const a = this.find(id);
    if (a.status === 'voided') throw new SimError('conflict', `authorization ${id} is voided and cannot be captured`);
    return this.transition(a, 'captured');
  }

  void(id: string): Authorization {
    const a = this.find(id);
    if (a.status === 'captured') throw new SimError('conflict', `authorization ${id} is captured and cannot be voided`);
    return this.transition(a, 'voided');
  }

  /** The authorization created under an idempotency key (none if the key is unknown or its answer was not an authorization). */
  byKey(key: string): Authorization[] {
    const id = (this.answers.get(key)?.body as { id?: unknown } | undefined)?.id;
    const a = typeof id === 'string' ? this.byId.get(id) : undefined;
    return a ? [{ ...a }] : [];
  }

  list(orderId?: string): Authorization[] {
    const all = [...this.byId.values()];
    return (orderId === undefined ? all : all.filter((a) => a.orderId === orderId)).map((a) => ({ ...a }));
  }

  private decide(dto: AuthorizeDto): Answer {
    switch (dto.token) {
      case 'tok_ok': {
        const now = new Date().toISOString();
        const a: Authorization = {
          id: `auth_${randomUUID()}`,
          orderId: dto.orderId,
          status: 'authorized',
          amountCents: dto.amountCents,
          currency: dto.currency,
          createdAt: now,
          updatedAt: now,
        };
        remember(this.byId, a.id, a, this.maxEntries);
        this.journal.append({ t: 'auth', a });
        return { status: 201, body: { ...a } };
      }
      case 'tok_decline':
        return { status: 402, body: { status: 'declined', reason: 'card_declined', orderId: dto.orderId } };
      default:
        return {
          status: 400,
          body: errorBody(400, 'invalid request: token', [{ field: 'token', errors: ['token must be tok_ok or tok_decline'] }]),
        };
    }
  }

  private find(id: string): Authorization {
    const a = this.byId.get(id);
    if (!a) throw new SimError('not_found', `authorization ${id} not found`);
    return a;
  }

  private transition(a: Authorization, to: AuthorizationStatus): Authorization {
    if (a.status !== to) {
      a.status = to;
      a.updatedAt = new Date().toISOString();
      this.journal.append({ t: 'auth', a });
    }
    return { ...a };
  }

  private apply(e: JournalEntry): void {
    if (e.t === 'auth') remember(this.byId, e.a.id, { ...e.a }, this.maxEntries);
    else remember(this.answers, e.k, { status: e.s, body: e.b }, this.maxEntries);
  }
}

/** Map.set that forgets the oldest entry beyond `max` (Maps iterate in insertion order). */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as string);
}
