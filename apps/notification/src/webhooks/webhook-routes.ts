import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { FINAL_STATUSES, ORDER_STATUSES, tenantRouteKey } from '@orders/contracts';
import { Messaging } from '@orders/messaging';
import { every } from '@orders/platform';
import { DataSource } from 'typeorm';
import { NotificationEnv } from '../config';

const QUEUE = 'notification.webhooks';
const PATTERNS = ['*', ...ORDER_STATUSES] as const;

/**
 * Which status events reach notification.webhooks: exactly those of tenants
 * with an enabled endpoint, and of the statuses those endpoints asked for
 * (bindings `order.status-changed.v1.<status>.<tenant key>.#`, any lane), so a tenant
 * without webhooks costs no delivery; an endpoint asking for PENDING or
 * PROCESSING also takes the final statuses, which may carry them. Set when an endpoint is registered,
 * removed, enabled or disabled, for every tenant at start-up, and again
 * every WEBHOOK_ROUTES_SYNC_MS (a binding lost with its queue comes back).
 */
@Injectable()
export class WebhookRoutes implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('WebhookRoutes');
  private job?: { stop(): Promise<void> };

  constructor(private readonly ds: DataSource, private readonly messaging: Messaging, private readonly cfg: NotificationEnv) {}

  onApplicationBootstrap(): void {
    void this.syncAll().catch((e: Error) => this.logger.warn(`webhook routes not set yet (${e.message}); trying again in ${this.cfg.WEBHOOK_ROUTES_SYNC_MS} ms`));
    this.job = every(this.cfg.WEBHOOK_ROUTES_SYNC_MS, () => this.syncAll(), (e) => this.logger.warn(`webhook routes sync failed: ${e.message}`));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.job?.stop();
  }

  /** Every tenant with endpoints, and every tenant with an API key (whose routes must not linger). */
  async syncAll(): Promise<void> {
    const rows: Array<{ tenant_id: string }> = await this.ds.query('SELECT DISTINCT tenant_id FROM webhook_endpoints');
    const tenants = new Set([...rows.map((r) => r.tenant_id), ...this.cfg.tenantsByAuthorization.values()]);
    for (const t of tenants) await this.sync(t);
  }

  /** Binds the tenant's wanted statuses and unbinds the others. */
  async sync(tenantId: string): Promise<void> {
    const rows: Array<{ events: string[] }> = await this.ds.query('SELECT events FROM webhook_endpoints WHERE tenant_id = $1 AND disabled_at IS NULL', [tenantId]);
    const wanted = new Set(rows.flatMap((r) => r.events));
    // PENDING and PROCESSING may come carried by the final event instead of their own (STATUS_COALESCE_MS)
    if (!wanted.has('*') && (wanted.has('PENDING') || wanted.has('PROCESSING'))) for (const s of FINAL_STATUSES) wanted.add(s);
    const key = tenantRouteKey(tenantId);
    for (const p of PATTERNS) {
      await this.messaging.setBinding(QUEUE, 'order.status-changed.v1', `${p}.${key}.#`, wanted.has(p) && (p === '*' || !wanted.has('*')));
      await this.messaging.setBinding(QUEUE, 'order.status-changed.v1', `${p}.${key}`, false); // the previous version's binding (no lane word)
    }
  }

  /** sync, logged instead of thrown: the periodic sync sets it later (an endpoint's change never fails for it). */
  async syncSoon(tenantId: string): Promise<void> {
    await this.sync(tenantId).catch((e: Error) => this.logger.warn(`webhook routes of ${tenantId} not set yet (${e.message}); the next sync sets them`));
  }
}
