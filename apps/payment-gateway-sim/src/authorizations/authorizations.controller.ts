import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ControlService } from '../control/control.service';
import { SimError } from '../sim.error';
import { AuthorizeDto, ListQueryDto } from './authorization.dto';
import { Authorization, AuthorizationsService } from './authorizations.service';

const KEY = /^[\x21-\x7e]{1,255}$/;

@Controller('authorizations')
export class AuthorizationsController {
  constructor(private readonly auths: AuthorizationsService, private readonly control: ControlService) {}

  /** 201 authorized · 402 declined · 400 bad token; the same Idempotency-Key replays the first answer. */
  @Post()
  async authorize(
    @Headers('idempotency-key') key: string | undefined,
    @Body() body: AuthorizeDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<object> {
    if (!key || !KEY.test(key)) throw new SimError('missing_idempotency_key', 'Idempotency-Key header is required (1-255 printable characters)');
    await this.control.gate();
    const answer = this.auths.authorize(key, body);
    reply.status(answer.status);
    if (answer.replayed) reply.header('idempotent-replayed', 'true');
    return answer.body;
  }

  @Post(':id/capture')
  @HttpCode(200)
  async capture(@Param('id') id: string): Promise<Authorization> {
    await this.control.gate();
    return this.auths.capture(id);
  }

  @Post(':id/void')
  @HttpCode(200)
  async void(@Param('id') id: string): Promise<Authorization> {
    await this.control.gate();
    return this.auths.void(id);
  }

  /** All authorizations, those of one order (`?orderId=`), or the one created under an idempotency key (`?idempotencyKey=`). */
  @Get()
  list(@Query() q: ListQueryDto): { items: Authorization[] } {
    if (q.idempotencyKey !== undefined) {
      const items = this.auths.byKey(q.idempotencyKey);
      return { items: q.orderId === undefined ? items : items.filter((a) => a.orderId === q.orderId) };
    }
    return { items: this.auths.list(q.orderId) };
  }
}
