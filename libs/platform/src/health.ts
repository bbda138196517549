import { Controller, DynamicModule, Get, Inject, Module } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TerminusModule, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Messaging } from '@orders/messaging';

export interface HealthOptions {
  database: boolean;
  broker: boolean;
}
const HEALTH_OPTIONS = Symbol('HEALTH_OPTIONS');

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly moduleRef: ModuleRef,
    @Inject(HEALTH_OPTIONS) private readonly o: HealthOptions,
  ) {}

  /** The process is up and serving HTTP. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /** The service can do its work: its database and the broker answer, and every queue it owns has a live consumer. */
  @Get('ready')
  @HealthCheck()
  ready() {
    const checks = [];
    if (this.o.database) checks.push(() => this.db.pingCheck('database', { timeout: 2000 }));
    if (this.o.broker) {
      const amqp = this.moduleRef.get(Messaging, { strict: false });
      checks.push(async () => {
        const s = this.indicators.check('broker');
        if (!amqp.isConnected) return s.down('not connected');
        const unconsumed = amqp.unconsumedQueues();
        return unconsumed.length ? s.down(`no live consumer on ${unconsumed.join(', ')}`) : s.up();
      });
    }
    return this.health.check(checks);
  }
}

/** `GET /health/live` and `GET /health/ready` (terminus). */
@Module({})
export class HealthModule {
  static forRoot(o: HealthOptions): DynamicModule {
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [HealthController],
      providers: [{ provide: HEALTH_OPTIONS, useValue: o }],
    };
  }
}
