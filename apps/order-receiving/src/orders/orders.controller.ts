import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import {
  ApiAcceptedResponse, ApiBadRequestResponse, ApiBearerAuth, ApiConflictResponse, ApiHeader, ApiNotFoundResponse, ApiOkResponse,
  ApiOperation, ApiPayloadTooLargeResponse, ApiProduces, ApiServiceUnavailableResponse, ApiTags, ApiTooManyRequestsResponse, ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse, ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import { isFinalStatus } from '@orders/contracts';
import {
  CancelAcceptedDto, CreateOrderDto, ListOrdersQueryDto, OrderAcceptedDto, OrderDto, OrderEventDto, OrderEventsQueryDto, OrderListDto,
} from '@orders/dto';
import type { FastifyReply } from 'fastify';
import { OrderReceivingEnv } from '../config';
import { AllowEventsToken, ApiKeyGuard, TenantRequest } from './auth.guard';
import { checkEventsToken, checkIdempotencyKey, isUuid, preferWaitSeconds } from './http-rules';
import { IntakeService } from './intake.service';
import { OrderEventsHub } from './order-events.hub';
import { OrderStream } from './order-stream';
import { OrdersError } from './orders.error';
import { OrdersService } from './orders.service';

const notFound = (id: string) => new OrdersError('order_not_found', `order ${id} not found`);

@ApiTags('orders')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'missing or invalid API key' })
@ApiTooManyRequestsResponse({ description: 'tenant rate limit; see Retry-After' })
@ApiServiceUnavailableResponse({ description: 'the database is unreachable; retry after Retry-After (POST: with the same Idempotency-Key)' })
@UseGuards(ApiKeyGuard)
@Controller('orders')
export class OrdersController {
  constructor(
    private readonly intake: IntakeService,
    private readonly orders: OrdersService,
    private readonly hub: OrderEventsHub,
    private readonly cfg: OrderReceivingEnv,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Place an order (accepted at once, processed asynchronously)' })
  @ApiHeader({ name: 'Idempotency-Key', required: true, description: '1-255 printable ASCII characters; same key + same body replays the response' })
  @ApiHeader({ name: 'Prefer', required: false, description: 'wait=N (N <= 30): hold the answer until the order is final or N seconds pass' })
  @ApiAcceptedResponse({ type: OrderAcceptedDto, description: 'accepted; Location: /orders/{id}' })
  @ApiOkResponse({ type: OrderDto, description: 'with Prefer: wait, the order reached a final state in time' })
  @ApiBadRequestResponse({ description: 'invalid body (per-field details; control characters or unpaired surrogates in any text), malformed JSON or missing/invalid Idempotency-Key' })
  @ApiConflictResponse({ description: 'the same Idempotency-Key is still in flight' })
  @ApiUnprocessableEntityResponse({ description: 'the Idempotency-Key was used with a different body' })
  @ApiPayloadTooLargeResponse({ description: 'body over the limit (BODY_LIMIT_BYTES)' })
  @ApiUnsupportedMediaTypeResponse({ description: 'not application/json' })
  async place(
    @Req() req: TenantRequest,
    @Body() dto: CreateOrderDto,
    @Headers('idempotency-key') rawKey: string | undefined,
    @Headers('prefer') prefer: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<OrderAcceptedDto | OrderDto> {
    const tenantId = req.tenantId!;
    const key = checkIdempotencyKey(rawKey);
    const wait = preferWaitSeconds(prefer);
    const accepted = await this.intake.place(tenantId, key, dto, wait ? wait + 5 : 0);
    reply.header('location', `/orders/${accepted.orderId}`);
    if (!wait || !accepted.created) {
      reply.status(accepted.statusCode);
      return accepted.body;
    }
    try {
      // No connection or worker is held while waiting: an in-memory subscription to the LISTEN hub.
      await this.hub.waitForFinal(accepted.orderId, wait);
      const order = await this.orders.get(tenantId, accepted.orderId); // also covers a change just before subscribing
      reply.header('preference-applied', `wait=${wait}`);
      if (isFinalStatus(order.status)) {
        reply.status(200);
        return order;
      }
      reply.status(202);
      return accepted.body;
    } finally {
      await this.intake.release(tenantId, key);
    }
  }

  @Get()
  @ApiOperation({ summary: "The tenant's orders, newest first, cursor-paginated" })
  @ApiOkResponse({ type: OrderListDto })
  @ApiBadRequestResponse({ description: 'invalid status, limit or cursor' })
  list(@Req() req: TenantRequest, @Query() q: ListOrdersQueryDto): Promise<OrderListDto> {
    return this.orders.list(req.tenantId!, q);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One order with items, totals and history' })
  @ApiOkResponse({ type: OrderDto })
  @ApiNotFoundResponse({ description: "no such order for this tenant (another tenant's order too)" })
  get(@Req() req: TenantRequest, @Param('id') id: string): Promise<OrderDto> {
    if (!isUuid(id)) throw notFound(id);
    return this.orders.get(req.tenantId!, id);
  }

  @Get(':id/events')
  @AllowEventsToken()
  @ApiOperation({ summary: 'Server-sent events: one per status change (id = sequence), closes after the final state' })
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'resume after this sequence' })
  @ApiOkResponse({ type: OrderEventDto, description: 'text/event-stream; each event\'s data is this JSON' })
  @ApiNotFoundResponse({ description: "no such order for this tenant" })
  @ApiUnauthorizedResponse({ description: 'no API key and no valid token, or the token has expired (EVENTS_TOKEN_TTL_SECONDS)' })
  async events(
    @Req() req: TenantRequest,
    @Param('id') id: string,
    @Query() q: OrderEventsQueryDto,
    @Headers('last-event-id') lastEventIdHeader: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const lastRaw = lastEventIdHeader ?? q.lastEventId;
    if (lastRaw !== undefined && !/^\d{1,9}$/.test(lastRaw)) throw new OrdersError('bad_last_event_id', 'Last-Event-ID must be a sequence number');
    const last = lastRaw === undefined ? 0 : Number(lastRaw);
    let found: Awaited<ReturnType<OrdersService['find']>>;
    if (req.tenantId) {
      if (!isUuid(id)) throw notFound(id);
      found = await this.orders.find(id);
      if (!found || found.tenantId !== req.tenantId) throw notFound(id);
    } else {
      found = isUuid(id) ? await this.orders.find(id) : undefined;
      const verdict = found ? checkEventsToken(this.cfg.EVENTS_TOKEN_SECRET, found.tenantId, id, q.token!) : 'invalid';
      if (verdict === 'expired') throw new OrdersError('unauthorized', 'the events token has expired: read the order with your API key');
      if (!found || verdict !== 'valid') throw new OrdersError('unauthorized', 'invalid events token for this order');
    }
    const { order, sequence } = found;
    if (isFinalStatus(order.status) && last >= sequence) {
      reply.status(204).send(); // nothing more will ever come: tells EventSource not to reconnect
      return;
    }
    reply.hijack();
    const summary = { id: order.id, customer: order.customer, createdAt: order.createdAt };
    new OrderStream(reply.raw, summary, last, this.hub, (after) => this.orders.eventsSince(summary, after), this.cfg.SSE_HEARTBEAT_MS);
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @ApiOperation({ summary: 'Cancel an order that is not final yet: answered with order-processing\'s decision' })
  @ApiAcceptedResponse({ type: CancelAcceptedDto })
  @ApiNotFoundResponse({ description: 'no such order for this tenant' })
  @ApiConflictResponse({ description: 'the order is already final, or was confirmed before the cancel' })
  @ApiServiceUnavailableResponse({ description: 'the cancel was not decided in time (see Retry-After); asking again is safe' })
  cancel(@Req() req: TenantRequest, @Param('id') id: string): Promise<CancelAcceptedDto> {
    if (!isUuid(id)) throw notFound(id);
    return this.orders.requestCancel(req.tenantId!, id);
  }
}
