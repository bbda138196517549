import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { OrderReceivingEnv } from '../config';
import { RateLimiter } from './http-rules';
import { OrdersError } from './orders.error';

export type TenantRequest = FastifyRequest & { tenantId?: string };

const EVENTS_TOKEN = 'orders:allow-events-token';
/** The route may also be opened with the per-order `token` query parameter instead of an API key. */
export const AllowEventsToken = () => SetMetadata(EVENTS_TOKEN, true);

/** `Authorization: Bearer <key>` → tenant, then the tenant's rate limit. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly tenants: Map<string, string>;
  private readonly limiter: RateLimiter;

  constructor(cfg: OrderReceivingEnv, private readonly reflector: Reflector) {
    this.tenants = cfg.tenantsByAuthorization;
    this.limiter = new RateLimiter(cfg.RATE_LIMIT_PER_SECOND, cfg.RATE_LIMIT_BURST);
  }

  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest<TenantRequest>();
    const auth = req.headers.authorization;
    const tenant = auth ? this.tenants.get(auth) : undefined;
    if (!tenant) {
      const q = req.query as Record<string, unknown> | undefined;
      if (!auth && typeof q?.token === 'string' && this.reflector.get<boolean>(EVENTS_TOKEN, ctx.getHandler())) return true;
      throw new OrdersError('unauthorized', auth ? 'invalid API key' : 'missing API key: send Authorization: Bearer <key>', { 'www-authenticate': 'Bearer' });
    }
    const wait = this.limiter.take(tenant);
    if (wait > 0) throw new OrdersError('rate_limited', 'rate limit exceeded for this tenant', { 'retry-after': String(wait) });
    req.tenantId = tenant;
    return true;
  }
}
