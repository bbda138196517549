import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { NotificationEnv } from '../config';
import { RateLimiter } from './rate-limiter';
import { WebhookError } from './webhook.error';

export type TenantRequest = FastifyRequest & { tenantId?: string };

/**
 * `Authorization: Bearer <storefront API key>` → the tenant (`API_KEYS`, the
 * same keys as order-receiving); then the tenant's token bucket
 * (RATE_LIMIT_PER_SECOND, RATE_LIMIT_BURST): `429` with `Retry-After` when
 * it is empty. Buckets are per instance, one per configured tenant.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly tenants: Map<string, string>;
  private readonly limiter: RateLimiter;

  constructor(cfg: NotificationEnv) {
    this.tenants = cfg.tenantsByAuthorization;
    this.limiter = new RateLimiter(cfg.RATE_LIMIT_PER_SECOND, cfg.RATE_LIMIT_BURST);
  }

  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest<TenantRequest>();
    const auth = req.headers.authorization;
    const tenant = auth ? this.tenants.get(auth) : undefined;
    if (!tenant) {
      throw new WebhookError('unauthorized', auth ? 'invalid API key' : 'missing API key: send Authorization: Bearer <key>', {
        headers: { 'www-authenticate': 'Bearer' },
      });
    }
    const wait = this.limiter.take(tenant);
    if (wait > 0) throw new WebhookError('rate_limited', 'rate limit exceeded for this tenant', { headers: { 'retry-after': String(wait) } });
    req.tenantId = tenant;
    return true;
  }
}
