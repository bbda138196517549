import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/** Provide the service's ADMIN_TOKEN under this token (`{ provide: ADMIN_TOKEN, useValue: cfg.ADMIN_TOKEN }`). */
export const ADMIN_TOKEN = Symbol('ADMIN_TOKEN');

/** Admin and operator calls carry `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time; anything else is 401. */
@Injectable()
export class AdminGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(ADMIN_TOKEN) token: string) {
    this.expected = Buffer.from(`Bearer ${token}`);
  }

  canActivate(ctx: ExecutionContext): boolean {
    const given = Buffer.from(ctx.switchToHttp().getRequest<FastifyRequest>().headers.authorization ?? '');
    if (given.length === this.expected.length && timingSafeEqual(given, this.expected)) return true;
    throw new UnauthorizedException('a valid admin token is required (Authorization: Bearer <ADMIN_TOKEN>)');
  }
}
