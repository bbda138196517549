import { Controller, Get, Header, Headers, Module, UnauthorizedException } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService } from '@nestjs/core';
import { timingSafeEqual } from 'node:crypto';
import { collectDefaultMetrics, Counter, Histogram, register } from 'prom-client';
import { BaseEnv } from './config';

let defaultsCollected = false;

export const httpRequests = new Counter({
  name: 'http_requests_total',
  help: 'HTTP requests by method, route and status',
  labelNames: ['method', 'route', 'status'] as const,
});
export const httpDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP request duration',
  labelNames: ['method', 'route'] as const,
  buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30],
});

/** How `GET /metrics` is served: the service's settings (BaseEnv), or for an app without them (the simulator, the mail catcher) open and cached like a service's development defaults. */
interface MetricsSettings {
  cacheMs: number;
  /** The exact `Authorization` header a scrape must carry, or undefined: open. */
  authorization?: Buffer;
}

@Controller('metrics')
class MetricsController {
  private settings?: MetricsSettings;
  private rendered?: { at: number; text: Promise<string> };

  constructor(private readonly discovery: DiscoveryService) {}

  /**
   * Prometheus exposition format. One rendering serves every scrape for
   * METRICS_CACHE_MS after it was rendered (scrapes during the collection
   * share the one being collected), so
   * the gauges that ask the database or the broker run once per interval
   * whatever the scrape rate. With METRICS_REQUIRE_TOKEN only a scrape with
   * `Authorization: Bearer <ADMIN_TOKEN>` is answered (401 before anything is
   * collected).
   */
  @Get()
  @Header('content-type', register.contentType)
  @Header('cache-control', 'no-store')
  metrics(@Headers('authorization') authorization: string | undefined): Promise<string> {
    const s = (this.settings ??= this.discover());
    if (s.authorization && !matches(s.authorization, authorization)) {
      throw new UnauthorizedException({
        message: 'GET /metrics needs the admin token (Authorization: Bearer <ADMIN_TOKEN>)',
        headers: { 'www-authenticate': 'Bearer' },
      });
    }
    if (!this.rendered || Date.now() - this.rendered.at >= s.cacheMs) {
      const text = register.metrics();
      const entry = { at: Infinity, text }; // while it is collected, every scrape waits for this one
      this.rendered = entry;
      text.then(
        () => (entry.at = Date.now()), // served for METRICS_CACHE_MS from when it was rendered
        () => {
          if (this.rendered === entry) this.rendered = undefined; // a failed collection is not served again
        },
      );
    }
    return this.rendered.text;
  }

  /** The app's configuration is the provider that is a BaseEnv (each service provides its own subclass). */
  private discover(): MetricsSettings {
    const cfg = this.discovery.getProviders().map((w) => w.instance as unknown).find((i): i is BaseEnv => i instanceof BaseEnv) ?? new BaseEnv();
    return { cacheMs: cfg.METRICS_CACHE_MS, authorization: cfg.METRICS_REQUIRE_TOKEN ? Buffer.from(`Bearer ${cfg.ADMIN_TOKEN}`) : undefined };
  }
}

/** Compared in constant time. */
function matches(expected: Buffer, given: string | undefined): boolean {
  const g = Buffer.from(given ?? '');
  return g.length === expected.length && timingSafeEqual(g, expected);
}

/** `GET /metrics`; a service's settings (METRICS_CACHE_MS, METRICS_REQUIRE_TOKEN, ADMIN_TOKEN) come from its BaseEnv provider. */
@Module({ imports: [DiscoveryModule], controllers: [MetricsController] })
export class MetricsModule {
  constructor() {
    if (!defaultsCollected) {
      collectDefaultMetrics();
      defaultsCollected = true;
    }
  }
}
