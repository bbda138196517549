import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { OrderReceivingEnv } from '../../config';
import { OrdersError } from '../orders.error';
import { checkEventsToken } from '../push/events-token';
import { RateLimiter } from './rate-limiter';

export type TenantRequest = FastifyRequest & { tenantId?: string };

const EVENTS_TOKEN = 'orders:allow-events-token';
/** The route (`/orders/:id/...`) may also be opened with that order's `token` query parameter instead of an API key. */
export const AllowEventsToken = () => SetMetadata(EVENTS_TOKEN, true);

/** Failed token checks a client address may make: a burst, then one a second. */
const BAD_TOKEN_BURST = 20;
const BAD_TOKEN_PER_SECOND = 1;

/**
 * `Authorization: Bearer <key>` → tenant; or, where allowed, an events token
 * checked against each configured tenant before anything is read (a bad one
 * is counted against the client's address: 429 once it keeps guessing). Then
 * the tenant's rate limit, whichever way it came.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly tenants: Map<string, string>;
  private readonly tenantNames: string[];
  private readonly limiter: RateLimiter;
  private readonly badTokens = new RateLimiter(BAD_TOKEN_PER_SECOND, BAD_TOKEN_BURST);

  constructor(private readonly cfg: OrderReceivingEnv, private readonly reflector: Reflector) {
    this.tenants = cfg.tenantsByAuthorization;
    this.tenantNames = [...new Set(this.tenants.values())];
    this.limiter = new RateLimiter(cfg.RATE_LIMIT_PER_SECOND, cfg.RATE_LIMIT_BURST);
  }

  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest<TenantRequest>();
    const auth = req.headers.authorization;
    let tenant = auth ? this.tenants.get(auth) : undefined;
    if (!tenant) {
      const token = (req.query as Record<string, unknown> | undefined)?.token;
      if (auth || typeof token !== 'string' || !this.reflector.get<boolean>(EVENTS_TOKEN, ctx.getHandler())) {
        throw new OrdersError('unauthorized', auth ? 'invalid API key' : 'missing API key: send Authorization: Bearer <key>', { 'www-authenticate': 'Bearer' });
      }
      tenant = this.tenantOfToken(req, token);
    }
    const wait = this.limiter.take(tenant);
    if (wait > 0) throw new OrdersError('rate_limited', 'rate limit exceeded for this tenant', { 'retry-after': String(wait) });
    req.tenantId = tenant;
    return true;
  }

  private tenantOfToken(req: TenantRequest, token: string): string {
    const orderId = String((req.params as Record<string, unknown> | undefined)?.id ?? '');
    let expired = false;
    for (const t of this.tenantNames) {
      const verdict = checkEventsToken(this.cfg.EVENTS_TOKEN_SECRET, t, orderId, token);
      if (verdict === 'valid') return t;
      expired ||= verdict === 'expired';
    }
    if (this.badTokens.size > 10_000) this.badTokens.sweep();
    const wait = this.badTokens.take(req.ip);
    if (wait > 0) throw new OrdersError('rate_limited', 'too many invalid events tokens from this address', { 'retry-after': String(wait) });
    if (expired) throw new OrdersError('unauthorized', 'the events token has expired: read the order with your API key');
    throw new OrdersError('unauthorized', 'invalid events token for this order');
  }
}
