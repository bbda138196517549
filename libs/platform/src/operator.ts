import { CallHandler, Controller, DynamicModule, ExecutionContext, Get, HttpCode, HttpException, Injectable, Module, NestInterceptor, Param, Post, Query, UseGuards, UseInterceptors } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Length, Max, Min } from 'class-validator';
import { ConsumptionControl, DeadLetters, QueueToolError } from '@orders/messaging';
import { catchError, Observable, throwError } from 'rxjs';
import { AdminGuard } from './admin.guard';

export class LimitQuery {
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000)
  limit?: number;
}

export class ReplayQuery extends LimitQuery {
  /** Replay only the dead letter with this message id. */
  @IsOptional() @Length(1, 255)
  id?: string;
}

export class DiscardQuery {
  /** Discard only the dead letter with this message id. */
  @IsOptional() @Length(1, 255)
  id?: string;
}

const STATUS: Record<QueueToolError['code'], number> = { unknown_queue: 404, unknown_message: 404, broker_unavailable: 503 };

/** The queue tools' one error type, mapped to HTTP: an unknown queue or message is 404, the broker away 503. */
@Injectable()
class QueueToolErrors implements NestInterceptor {
  intercept(_ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      catchError((e: unknown) => throwError(() => (e instanceof QueueToolError ? new HttpException({ message: e.message }, STATUS[e.code]) : e))),
    );
  }
}

/** Dead letters of this service's own queues (admin token): what they are, replay, discard. */
@Controller('dead-letters')
@UseGuards(AdminGuard)
@UseInterceptors(QueueToolErrors)
class DeadLettersController {
  constructor(private readonly deadLetters: DeadLetters) {}

  @Get()
  summary() {
    return this.deadLetters.summary();
  }

  @Get(':queue')
  peek(@Param('queue') queue: string, @Query() q: LimitQuery) {
    return this.deadLetters.peek(queue, q.limit ?? 20);
  }

  @Get(':queue/:id')
  show(@Param('queue') queue: string, @Param('id') id: string) {
    return this.deadLetters.show(queue, id);
  }

  /** Back to where the message is consumed now, with fresh attempts: the one with `id`, or up to `limit`. */
  @Post(':queue/replay')
  @HttpCode(200)
  replay(@Param('queue') queue: string, @Query() q: ReplayQuery) {
    return q.id === undefined ? this.deadLetters.replay(queue, q.limit ?? 1000) : this.deadLetters.replayOne(queue, q.id);
  }

  /** Drops the dead letter with `id`, or all of the queue's. */
  @Post(':queue/discard')
  @HttpCode(200)
  discard(@Param('queue') queue: string, @Query() q: DiscardQuery) {
    return q.id === undefined ? this.deadLetters.discardAll(queue) : this.deadLetters.discardOne(queue, q.id);
  }
}

/** Pausing and resuming this service's own queues, for every instance at once (admin token). */
@Controller('queues')
@UseGuards(AdminGuard)
@UseInterceptors(QueueToolErrors)
class QueuesController {
  constructor(private readonly consumption: ConsumptionControl) {}

  @Get()
  list() {
    return this.consumption.list();
  }

  @Post(':queue/pause')
  @HttpCode(200)
  pause(@Param('queue') queue: string) {
    return this.consumption.pause(queue);
  }

  @Post(':queue/resume')
  @HttpCode(200)
  resume(@Param('queue') queue: string) {
    return this.consumption.resume(queue);
  }
}

/** Every service's operator surface for its own queues: `/dead-letters…` and `/queues…`. */
@Module({})
export class OperatorModule {
  static forRoot(): DynamicModule {
    return { module: OperatorModule, controllers: [DeadLettersController, QueuesController], providers: [QueueToolErrors] };
  }
}
