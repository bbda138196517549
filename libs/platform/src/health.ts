import { Controller, DynamicModule, Get, Inject, Module } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, ModuleRef } from '@nestjs/core';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TerminusModule, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Messaging } from '@orders/messaging';

export interface HealthOptions {
  database: boolean;
  broker: boolean;
}
const HEALTH_OPTIONS = Symbol('HEALTH_OPTIONS');

/** What a provider tells /health/ready about itself (`details` shown under its name). */
export interface ReadinessReport {
  up: boolean;
  details?: Record<string, unknown>;
}
export interface ReadinessSource {
  readiness(): ReadinessReport | Promise<ReadinessReport>;
}

/**
 * Marks a provider (a ReadinessSource) whose own readiness `/health/ready`
 * checks beside the database and the broker, under the given name: e.g.
 * `@Readiness('intake')` on a service that is saturated (503 while it is).
 */
export const Readiness = DiscoveryService.createDecorator<string>();

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly moduleRef: ModuleRef,
    private readonly discovery: DiscoveryService,
    @Inject(HEALTH_OPTIONS) private readonly o: HealthOptions,
  ) {}

  private sources?: Array<{ name: string; source: ReadinessSource }>;

  /** The process is up and serving HTTP. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /**
   * The service can do its work: its database answers a trivial query within
   * DATABASE_PING_TIMEOUT_MS, the broker is connected and every queue it owns
   * has a live consumer, and every `@Readiness()` provider says it is up
   * (order-receiving's intake: not saturated).
   */
  @Get('ready')
  @HealthCheck()
  ready() {
    const checks = [];
    if (this.o.database) checks.push(() => this.db.pingCheck('database', { timeout: DATABASE_PING_TIMEOUT_MS }));
    if (this.o.broker) {
      const amqp = this.moduleRef.get(Messaging, { strict: false });
      checks.push(async () => {
        const s = this.indicators.check('broker');
        if (!amqp.isConnected) return s.down('not connected');
        const unconsumed = amqp.unconsumedQueues();
        return unconsumed.length ? s.down(`no live consumer on ${unconsumed.join(', ')}`) : s.up();
      });
    }
    for (const { name, source } of (this.sources ??= this.discover())) {
      checks.push(async () => {
        const r = await source.readiness();
        const s = this.indicators.check(name);
        return r.up ? s.up(r.details ?? {}) : s.down(r.details ?? {});
      });
    }
    return this.health.check(checks);
  }

  private discover(): Array<{ name: string; source: ReadinessSource }> {
    return this.discovery
      .getProviders({ metadataKey: Readiness.KEY })
      .filter((w) => w.instance && typeof (w.instance as Partial<ReadinessSource>).readiness === 'function')
      .map((w) => ({ name: this.discovery.getMetadataByDecorator(Readiness, w) ?? String(w.name), source: w.instance as ReadinessSource }));
  }
}

/** How long the database may take to answer readiness's `SELECT 1` before the service is not ready. */
export const DATABASE_PING_TIMEOUT_MS = 2000;

/** `GET /health/live` and `GET /health/ready` (terminus). */
@Module({})
export class HealthModule {
  static forRoot(o: HealthOptions): DynamicModule {
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ logger: false }), DiscoveryModule],
      controllers: [HealthController],
      providers: [{ provide: HEALTH_OPTIONS, useValue: o }],
    };
  }
}
