import { Controller, Get, HttpCode, NotFoundException, Param, Post, UseGuards } from '@nestjs/common';
import { ConsumptionControl, ConsumptionError } from '@orders/messaging';
import { AdminGuard } from '@orders/platform';

/** Operators pause and resume consumption of this service's queues, on every instance (admin token). */
@Controller('queues')
@UseGuards(AdminGuard)
export class QueuesController {
  constructor(private readonly control: ConsumptionControl) {}

  @Get()
  list() {
    return this.control.list();
  }

  @Post(':queue/pause')
  @HttpCode(200)
  pause(@Param('queue') queue: string) {
    return this.known(() => this.control.pause(queue));
  }

  @Post(':queue/resume')
  @HttpCode(200)
  resume(@Param('queue') queue: string) {
    return this.known(() => this.control.resume(queue));
  }

  private async known<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof ConsumptionError) throw new NotFoundException(e.message);
      throw e;
    }
  }
}
