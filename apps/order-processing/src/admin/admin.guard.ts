import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { OrderProcessingEnv } from '../config';

/** Admin and operator calls carry `Authorization: Bearer <ADMIN_TOKEN>`; anything else is 401. */
@Injectable()
export class AdminGuard implements CanActivate {
  private readonly expected: Buffer;
  constructor(cfg: OrderProcessingEnv) {
    this.expected = Buffer.from(`Bearer ${cfg.ADMIN_TOKEN}`);
  }
  canActivate(ctx: ExecutionContext): boolean {
    const given = Buffer.from(ctx.switchToHttp().getRequest<FastifyRequest>().headers.authorization ?? '');
    if (given.length === this.expected.length && timingSafeEqual(given, this.expected)) return true;
    throw new UnauthorizedException('a valid admin token is required (Authorization: Bearer <ADMIN_TOKEN>)');
  }
}
