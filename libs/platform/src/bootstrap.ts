import { randomUUID } from 'node:crypto';
import { DynamicModule, Logger, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DestinationStream } from 'pino';
import { ConfigError } from './config';
import { HttpErrorFilter, strictValidationPipe } from './http-errors';
import { createLogger, installRequestLogging, PinoNestLogger } from './logging';
import { httpDuration, httpRequests } from './metrics';
import { flushTracing, setupTracing, TraceInterceptor } from './tracing';

export interface HttpAppOptions {
  /** The service's name, as its spans and the broker know it. */
  serviceName: string;
  logLevel?: string;
  bodyLimit?: number;
  /** Fastify's limit on header size, in bytes. */
  maxHeaderSize?: number;
  /** JSON log lines (default: when NODE_ENV=production) or readable ones. */
  logJson?: boolean;
  /** Where log lines go (default stdout). */
  logDestination?: DestinationStream;
}

/** A NestJS application on Fastify with the platform's structured logs, validation, error shape, metrics and shutdown hooks. */
export async function createHttpApp(module: Type | DynamicModule, o: HttpAppOptions): Promise<NestFastifyApplication> {
  const logger = createLogger({ level: o.logLevel, json: o.logJson, destination: o.logDestination });
  const adapter = new FastifyAdapter({
    bodyLimit: o.bodyLimit ?? 1024 * 1024,
    routerOptions: { maxParamLength: 200 },
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    ...(o.maxHeaderSize ? { http: { maxHeaderSize: o.maxHeaderSize } } : {}),
  } as ConstructorParameters<typeof FastifyAdapter>[0]);
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, { bufferLogs: true, abortOnError: false });
  app.useLogger(new PinoNestLogger(logger));
  if (setupTracing(o.serviceName)) app.useGlobalInterceptors(new TraceInterceptor());
  app.useGlobalPipes(strictValidationPipe());
  app.useGlobalFilters(new HttpErrorFilter());
  app.enableShutdownHooks();
  const fastify = app.getHttpAdapter().getInstance();
  installRequestLogging(fastify, logger);
  fastify.addHook('onClose', async () => flushTracing());
  fastify.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions?.url ?? 'unmatched';
    httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });
  return app;
}

/** Runs a service's main; a configuration error stops start-up with the variables' names. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${name}: ${err.message}\n`);
    } else {
      new Logger(name).error(err instanceof Error ? err.stack ?? err.message : String(err));
    }
    process.exit(1);
  });
}
