import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { InventoryEnv } from '../config';
import { InventoryError } from '../inventory.error';

/** Admin surface: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. */
@Injectable()
export class AdminGuard implements CanActivate {
  private readonly expected: Buffer;
  constructor(cfg: InventoryEnv) {
    this.expected = Buffer.from(`Bearer ${cfg.ADMIN_TOKEN}`);
  }
  canActivate(ctx: ExecutionContext): boolean {
    const header = ctx.switchToHttp().getRequest<FastifyRequest>().headers.authorization ?? '';
    const given = Buffer.from(header);
    if (given.length === this.expected.length && timingSafeEqual(given, this.expected)) return true;
    throw new InventoryError('unauthorized', 'missing or wrong admin token: send Authorization: Bearer <ADMIN_TOKEN>');
  }
}
