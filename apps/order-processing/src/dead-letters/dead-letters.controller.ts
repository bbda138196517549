import { Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Length, Max, Min } from 'class-validator';
import { AdminGuard } from '@orders/platform';
import { DeadLettersService } from './dead-letters.service';

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

/** Operator surface for dead letters (admin token). */
@Controller('dead-letters')
@UseGuards(AdminGuard)
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLettersService) {}

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
