import { Body, Controller, Get, Param, Put, Query, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AdminGuard } from '@orders/platform';
import { ListProductsQuery, ProductPage, ProductView, PutProductBody, SkuParams } from './product.dto';
import { ProductsService } from './products.service';

/** Admin REST for the catalogue and its stock (port 3001). */
@Controller('products')
@UseGuards(AdminGuard)
export class ProductsController {
  constructor(private readonly products: ProductsService) {}

  /** 201 when the product is new, 200 when it replaced one. */
  @Put(':sku')
  async put(@Param() { sku }: SkuParams, @Body() body: PutProductBody, @Res() reply: FastifyReply): Promise<void> {
    const { created, product } = await this.products.put(sku, body);
    reply.status(created ? 201 : 200).send(product);
  }

  @Get(':sku')
  get(@Param() { sku }: SkuParams): Promise<ProductView> {
    return this.products.get(sku);
  }

  @Get()
  list(@Query() q: ListProductsQuery): Promise<ProductPage> {
    return this.products.list(q);
  }
}
