import { Body, Controller, Get, Param, Put, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AdminGuard } from '@orders/platform';
import { PROMOTION_CODE, PromotionView, PutPromotionDto } from './promotion.dto';
import { PromotionError } from './promotion.error';
import { PromotionsService } from './promotions.service';

function checkCode(code: string): string {
  if (!PROMOTION_CODE.test(code)) {
    throw new PromotionError('invalid_code', 'invalid request: code', [{ field: 'code', errors: ['code must be 1-64 characters of A-Z, a-z, 0-9, _ or -'] }]);
  }
  return code;
}

@Controller('promotions')
@UseGuards(AdminGuard)
export class PromotionsController {
  constructor(private readonly promotions: PromotionsService) {}

  /** 201 when created, 200 when an existing promotion's terms were replaced. */
  @Put(':code')
  async put(@Param('code') code: string, @Body() body: PutPromotionDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<PromotionView> {
    const { created, promotion } = await this.promotions.put(checkCode(code), body);
    reply.status(created ? 201 : 200);
    return promotion;
  }

  @Get(':code')
  get(@Param('code') code: string): Promise<PromotionView> {
    return this.promotions.get(checkCode(code));
  }
}
