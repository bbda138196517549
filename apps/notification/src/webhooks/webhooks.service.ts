import { Injectable } from '@nestjs/common';
import type { Envelope } from '@orders/contracts';
import { oneStatement, UnitOfWork } from '@orders/messaging';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { NotificationEnv } from '../config';
import { AddressRefused, resolveTarget } from './address-guard';
import { AttemptView, CreateWebhookBody, DeliveryView, WebhookView } from './webhook.dto';
import { WebhookError } from './webhook.error';
import { WebhookDispatcher, wakeChannel, webhookIdOf } from './dispatcher';
import { WebhookRoutes } from './webhook-routes';

const MAX_ENDPOINTS_PER_TENANT = 50;

/** A new signing secret in the Standard Webhooks form: `whsec_` + base64 of 32 random bytes. */
export const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

interface EndpointRow {
  id: string;
  url: string;
  events: string[];
  disabled_at: Date | null;
  disabled_reason: string | null;
  created_at: Date;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const endpointView = (r: EndpointRow): WebhookView => ({
  id: r.id, url: r.url, events: r.events, enabled: !r.disabled_at,
  disabledAt: iso(r.disabled_at), disabledReason: r.disabled_reason, createdAt: r.created_at.toISOString(),
});

/** An endpoint of tenant $3, enabled, that asked for one of the statuses $6 (SQL over the alias `w`). */
const MATCHING_ENDPOINT = `w.tenant_id = $3 AND w.disabled_at IS NULL AND ('*' = ANY (w.events) OR w.events && $6::text[])`;

/**
 * A status event's deliveries, in one statement: the inbox row, one delivery
 * per matching endpoint and status, and the NOTIFY (sent on commit); for a
 * tenant with no endpoint for these statuses it writes nothing, not even the
 * inbox row (there is no effect to repeat). $3 tenant, $4 event ids, $5
 * order, $6 statuses, $7 bodies, $8 first attempt's delay (ms), $9 channel.
 */
const DELIVERIES_FOR_STATUS = oneStatement('webhook_deliveries_for_status', {
  ctes: `ins AS (
    INSERT INTO webhook_deliveries (id, endpoint_id, tenant_id, event_id, order_id, order_status, payload, next_attempt_at)
    SELECT gen_random_uuid(), w.id, w.tenant_id, x.event_id, $5, x.status, x.body, now() + make_interval(secs => $8::double precision / 1000)
    FROM webhook_endpoints w, inbox_row, unnest($4::uuid[], $6::text[], $7::text[]) AS x(event_id, status, body)
    WHERE ${MATCHING_ENDPOINT} AND ('*' = ANY (w.events) OR x.status = ANY (w.events))
    ON CONFLICT (endpoint_id, event_id) DO NOTHING
    RETURNING id
  )`,
  select: "SELECT pg_notify($9, '') AS woken FROM (SELECT 1 FROM ins LIMIT 1) one",
  types: ['text', 'uuid[]', 'uuid', 'text[]', 'text[]', 'double precision', 'text'],
  inboxGate: `WHERE EXISTS (SELECT 1 FROM webhook_endpoints w WHERE ${MATCHING_ENDPOINT})`,
});

/** Tenants' webhook endpoints, their delivery log, and turning status events into deliveries. */
@Injectable()
export class WebhooksService {
  private readonly channel: string;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly ds: DataSource,
    private readonly cfg: NotificationEnv,
    private readonly dispatcher: WebhookDispatcher,
    private readonly routes: WebhookRoutes,
  ) {
    this.channel = wakeChannel(cfg.DB_SCHEMA);
  }

  /**
   * One delivery per matching enabled endpoint of the tenant and status: the
   * event's own, and those of the earlier statuses it carries (their own
   * events were never sent; each keeps that event's id, so a copy that was
   * sent after all is the same delivery). Written with the inbox row in one
   * statement; the NOTIFY is sent on commit and wakes the dispatchers.
   */
  async onStatusChanged(env: Envelope<'order.status-changed.v1'>): Promise<void> {
    const e = env.payload;
    const entries = [
      ...(e.earlier ?? []).map((x) => ({ eventId: x.eventId, status: x.status, reason: x.reason, sequence: x.sequence, at: x.at })),
      { eventId: env.id, status: e.status, reason: e.reason, sequence: e.sequence, at: e.at },
    ];
    const bodies = entries.map((x) => JSON.stringify({
      type: 'order.status_changed',
      timestamp: x.at,
      data: {
        orderId: e.orderId, tenantId: e.tenantId, status: x.status, reason: x.reason, sequence: x.sequence,
        at: x.at, totals: e.totals, couponCode: e.couponCode, items: e.items, customer: e.customer,
      },
    }));
    await this.uow.handleOnceInOneStatement(env, DELIVERIES_FOR_STATUS, [
      e.tenantId, entries.map((x) => x.eventId), e.orderId, entries.map((x) => x.status), bodies, this.cfg.webhookSchedule[0], this.channel,
    ]);
  }

  async register(tenantId: string, body: CreateWebhookBody): Promise<WebhookView & { secret: string }> {
    await this.checkUrl(body.url);
    const events = body.events?.includes('*') || !body.events ? ['*'] : body.events;
    const secret = newSecret();
    const rows: EndpointRow[] = await this.ds.query(
      `INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret)
       SELECT $1, $2, $3, $4, $5 WHERE (SELECT count(*) FROM webhook_endpoints WHERE tenant_id = $2) < $6
       RETURNING id, url, events, disabled_at, disabled_reason, created_at`,
      [randomUUID(), tenantId, body.url, events, secret, MAX_ENDPOINTS_PER_TENANT],
    );
    if (!rows[0]) throw new WebhookError('too_many_endpoints', `a tenant may register at most ${MAX_ENDPOINTS_PER_TENANT} webhook endpoints`);
    await this.routes.syncSoon(tenantId);
    return { ...endpointView(rows[0]), secret };
  }

  async list(tenantId: string): Promise<{ items: WebhookView[] }> {
    const rows: EndpointRow[] = await this.ds.query(
      `SELECT id, url, events, disabled_at, disabled_reason, created_at FROM webhook_endpoints
       WHERE tenant_id = $1 ORDER BY created_at, id`,
      [tenantId],
    );
    return { items: rows.map(endpointView) };
  }

  async get(tenantId: string, id: string): Promise<WebhookView> {
    const rows: EndpointRow[] = await this.ds.query(
      'SELECT id, url, events, disabled_at, disabled_reason, created_at FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2',
      [tenantId, id],
    );
    if (!rows[0]) throw notFound(id);
    return endpointView(rows[0]);
  }

  async remove(tenantId: string, id: string): Promise<void> {
    const [, count] = (await this.ds.query('DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2', [tenantId, id])) as [unknown, number];
    if (!count) throw notFound(id);
    await this.routes.syncSoon(tenantId);
  }

  /** A new secret; the current one keeps signing alongside it for WEBHOOK_SECRET_GRACE_HOURS. */
  async rotateSecret(tenantId: string, id: string): Promise<{ secret: string; previousSecretValidUntil: string }> {
    const secret = newSecret();
    const [rows]: [Array<{ previous_secret_until: Date }>, number] = await this.ds.query(
      `UPDATE webhook_endpoints SET previous_secret = secret, secret = $3,
         previous_secret_until = now() + make_interval(hours => $4)
       WHERE tenant_id = $1 AND id = $2 RETURNING previous_secret_until`,
      [tenantId, id, secret, this.cfg.WEBHOOK_SECRET_GRACE_HOURS],
    );
    if (!rows[0]) throw notFound(id);
    return { secret, previousSecretValidUntil: rows[0].previous_secret_until.toISOString() };
  }

  /** Re-enables a disabled endpoint (after the tenant fixed it); its failure count starts again. */
  async enable(tenantId: string, id: string): Promise<WebhookView> {
    const [rows]: [EndpointRow[], number] = await this.ds.query(
      `UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL, consecutive_failures = 0
       WHERE tenant_id = $1 AND id = $2 RETURNING id, url, events, disabled_at, disabled_reason, created_at`,
      [tenantId, id],
    );
    if (!rows[0]) throw notFound(id);
    await this.routes.syncSoon(tenantId);
    return endpointView(rows[0]);
  }

  /** The endpoint's deliveries, newest first, each with all its attempts (two queries, not one per delivery). */
  async deliveries(tenantId: string, id: string, limit = 50, onlyId?: string): Promise<{ items: DeliveryView[] }> {
    await this.get(tenantId, id);
    const ds: Array<{
      id: string; order_id: string; order_status: string; state: DeliveryView['state']; next_attempt_at: Date | null;
      last_error: string | null; created_at: Date; finished_at: Date | null;
    }> = await this.ds.query(
      `SELECT id, order_id, order_status, state, next_attempt_at, last_error, created_at, finished_at
       FROM webhook_deliveries WHERE endpoint_id = $1 AND tenant_id = $2 AND ($4::uuid IS NULL OR id = $4)
       ORDER BY created_at DESC, id LIMIT $3`,
      [id, tenantId, limit, onlyId ?? null],
    );
    const attempts: Array<{
      delivery_id: string; attempt: number; attempted_at: Date; status_code: number | null; latency_ms: number;
      error: string | null; response_excerpt: string | null; outcome: AttemptView['outcome']; next_retry_at: Date | null;
    }> = ds.length
      ? await this.ds.query('SELECT * FROM webhook_attempts WHERE delivery_id = ANY ($1::uuid[]) ORDER BY id', [ds.map((d) => d.id)])
      : [];
    const byDelivery = new Map<string, AttemptView[]>(ds.map((d) => [d.id, []]));
    for (const a of attempts) {
      byDelivery.get(a.delivery_id)?.push({
        attempt: a.attempt, at: a.attempted_at.toISOString(), statusCode: a.status_code, latencyMs: a.latency_ms,
        error: a.error, responseExcerpt: a.response_excerpt, outcome: a.outcome, nextRetryAt: iso(a.next_retry_at),
      });
    }
    return {
      items: ds.map((d) => ({
        id: d.id, webhookId: webhookIdOf(d.id), eventType: 'order.status_changed', orderId: d.order_id,
        status: d.order_status, state: d.state, nextAttemptAt: d.state === 'pending' ? iso(d.next_attempt_at) : null,
        lastError: d.last_error, createdAt: d.created_at.toISOString(), finishedAt: iso(d.finished_at), attempts: byDelivery.get(d.id) ?? [],
      })),
    };
  }

  /** Sends a finished delivery again (same webhook-id) with a fresh retry schedule. */
  async resend(tenantId: string, id: string, deliveryId: string): Promise<DeliveryView> {
    const endpoint = await this.get(tenantId, id);
    if (!endpoint.enabled) throw new WebhookError('endpoint_disabled', 'the endpoint is disabled: enable it first (POST /webhooks/{id}/enable)');
    const rows: Array<{ state: string }> = await this.ds.query(
      'SELECT state FROM webhook_deliveries WHERE id = $1 AND endpoint_id = $2 AND tenant_id = $3',
      [deliveryId, id, tenantId],
    );
    if (!rows[0]) throw new WebhookError('delivery_not_found', `no delivery ${deliveryId} for webhook ${id}`);
    const [, count] = (await this.ds.query(
      `UPDATE webhook_deliveries SET state = 'pending', round_start = attempt_count, next_attempt_at = now(),
         finished_at = NULL, last_error = NULL
       WHERE id = $1 AND state <> 'pending'`,
      [deliveryId],
    )) as [unknown, number];
    if (!count) throw new WebhookError('delivery_pending', 'the delivery is still pending; it is attempted on its schedule');
    this.dispatcher.wake();
    const [d] = (await this.deliveries(tenantId, id, 1, deliveryId)).items;
    if (!d) throw new WebhookError('delivery_not_found', `no delivery ${deliveryId} for webhook ${id}`);
    return d;
  }

  private async checkUrl(raw: string): Promise<void> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw WebhookError.invalidUrl('url must be an http(s) URL');
    }
    if (url.username || url.password) throw WebhookError.invalidUrl('url must not carry credentials');
    try {
      await resolveTarget(url, this.cfg.addressPolicy, { signal: AbortSignal.timeout(this.cfg.WEBHOOK_TIMEOUT_MS) });
    } catch (e) {
      if (e instanceof AddressRefused) throw WebhookError.invalidUrl(e.message);
      throw e;
    }
  }
}

const notFound = (id: string) => new WebhookError('endpoint_not_found', `no webhook endpoint ${id}`);
