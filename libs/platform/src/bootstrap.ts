import { DynamicModule, INestApplication, Logger, LogLevel, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AmqpConnection, AmqpTransport, AmqpTransportOptions } from '@orders/messaging';
import { ConfigError } from './config';
import { HttpErrorFilter, strictValidationPipe } from './http-errors';
import { httpDuration, httpRequests } from './metrics';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

export interface HttpAppOptions {
  logLevel?: string;
  bodyLimit?: number;
  /** Fastify's limit on header size, in bytes. */
  maxHeaderSize?: number;
}

/** A NestJS application on Fastify with the platform's validation, error shape, metrics and shutdown hooks. */
export async function createHttpApp(module: Type | DynamicModule, o: HttpAppOptions = {}): Promise<NestFastifyApplication> {
  const level = LEVELS.indexOf((o.logLevel ?? 'log') as LogLevel);
  const adapter = new FastifyAdapter({
    bodyLimit: o.bodyLimit ?? 1024 * 1024,
    maxParamLength: 200,
    ...(o.maxHeaderSize ? { http: { maxHeaderSize: o.maxHeaderSize } } : {}),
  } as ConstructorParameters<typeof FastifyAdapter>[0]);
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, {
    logger: LEVELS.slice(0, level < 0 ? 4 : level + 1),
    abortOnError: false,
  });
  app.useGlobalPipes(strictValidationPipe());
  app.useGlobalFilters(new HttpErrorFilter());
  app.enableShutdownHooks();
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions?.url ?? 'unmatched';
    httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });
  return app;
}

/** Connects the platform's AMQP transport so @OnMessage handlers start consuming. */
export async function startConsumers(app: INestApplication, o: AmqpTransportOptions): Promise<AmqpTransport> {
  const transport = new AmqpTransport(app.get(AmqpConnection), o);
  app.connectMicroservice({ strategy: transport }, { inheritAppConfig: false });
  await app.startAllMicroservices();
  return transport;
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
