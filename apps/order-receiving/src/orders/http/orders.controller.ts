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
import { CancelsService } from '../cancels/cancels.service';
import { IntakeService } from '../intake/intake.service';
import { OrdersError } from '../orders.error';
import { OrderStreams } from '../push/order-streams';
import { ReadModelService } from '../read-model/read-model.service';
import { AllowEventsToken, ApiKeyGuard, TenantRequest } from './auth.guard';
import { checkIdempotencyKey, isUuid, lastEventId, preferWaitSeconds } from './headers';

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
    private readonly readModel: ReadModelService,
    private readonly cancels: CancelsService,
    private readonly streams: OrderStreams,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Place an order (accepted at once, processed asynchronously)' })
  @ApiHeader({ name: 'Idempotency-Key', required: true, description: '1-255 printable ASCII characters; same key + same body replays the response' })
  @ApiHeader({ name: 'Prefer', required: false, description: 'wait=N (N <= 30): hold the answer until the order is final or N seconds pass' })
  @ApiAcceptedResponse({ type: OrderAcceptedDto, description: 'accepted; Location: /orders/{id}' })
  @ApiOkResponse({ type: OrderDto, description: 'with Prefer: wait, the order reached a final state in time (a retry with the same key too)' })
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
    const answer = await this.intake.answer(req.tenantId!, checkIdempotencyKey(rawKey), dto, preferWaitSeconds(prefer));
    reply.header('location', `/orders/${answer.orderId}`);
    if (answer.preferenceApplied) reply.header('preference-applied', answer.preferenceApplied);
    reply.status(answer.statusCode);
    return answer.body;
  }

  @Get()
  @ApiOperation({ summary: "The tenant's orders, newest first, cursor-paginated" })
  @ApiOkResponse({ type: OrderListDto })
  @ApiBadRequestResponse({ description: 'invalid status, limit or cursor' })
  list(@Req() req: TenantRequest, @Query() q: ListOrdersQueryDto): Promise<OrderListDto> {
    return this.readModel.list(req.tenantId!, q);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One order with items, totals and history' })
  @ApiOkResponse({ type: OrderDto })
  @ApiNotFoundResponse({ description: "no such order for this tenant (another tenant's order too)" })
  get(@Req() req: TenantRequest, @Param('id') id: string): Promise<OrderDto> {
    if (!isUuid(id)) throw notFound(id);
    return this.readModel.get(req.tenantId!, id);
  }

  @Get(':id/events')
  @AllowEventsToken()
  @ApiOperation({ summary: 'Server-sent events: one per status change (id = sequence), closes after the final state' })
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'resume after this sequence' })
  @ApiOkResponse({ type: OrderEventDto, description: 'text/event-stream; each event\'s data is this JSON' })
  @ApiNotFoundResponse({ description: "no such order for this tenant" })
  @ApiUnauthorizedResponse({ description: 'no API key and no valid token, or the token has expired (EVENTS_TOKEN_TTL_SECONDS)' })
  @ApiTooManyRequestsResponse({ description: 'too many open streams of this order (SSE_MAX_STREAMS_PER_ORDER) or tenant (SSE_MAX_STREAMS_PER_TENANT), or too many bad tokens from this address; see Retry-After' })
  async events(
    @Req() req: TenantRequest,
    @Param('id') id: string,
    @Query() q: OrderEventsQueryDto,
    @Headers('last-event-id') lastEventIdHeader: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const tenantId = req.tenantId!; // the API key's, or the one the events token was issued for
    let last = lastEventId(lastEventIdHeader ?? q.lastEventId);
    if (!isUuid(id)) throw notFound(id);
    const slot = this.streams.reserve(tenantId, id); // 429 before anything is read
    try {
      const found = await this.readModel.find(id);
      if (!found || found.tenantId !== tenantId) throw notFound(id);
      const { order, sequence } = found;
      if (isFinalStatus(order.status) && last >= sequence) {
        slot.release();
        reply.status(204).send(); // nothing more will ever come: tells EventSource not to reconnect
        return;
      }
      // An id beyond the order's sequence (another order's, or made up) resumes from where the order is.
      last = Math.min(last, sequence);
      reply.hijack();
      this.streams.start(slot, reply.raw, { id: order.id, customer: order.customer, createdAt: order.createdAt }, last);
    } catch (e) {
      slot.release();
      throw e;
    }
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
    return this.cancels.requestCancel(req.tenantId!, id);
  }
}
