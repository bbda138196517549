import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { NotificationEnv } from '../config';
import { WebhookError } from './webhook.error';

export type TenantRequest = FastifyRequest & { tenantId?: string };

/** `Authorization: Bearer <storefront API key>` → the tenant (`API_KEYS`, the same keys as order-receiving). */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly tenants: Map<string, string>;

  constructor(cfg: NotificationEnv) {
    this.tenants = cfg.tenantsByAuthorization;
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
    req.tenantId = tenant;
    return true;
  }
}
