import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { enableMessageTracing } from '@orders/messaging';
import { Observable } from 'rxjs';

let provider: BasicTracerProvider | undefined;

const tracer = () => trace.getTracer('@orders/platform');

/** Whether tracing was set up in this process (setupTracing). */
export const tracingEnabled = (): boolean => !!provider;

/** Tracing is on when an OTLP endpoint (or exporter) is configured, the standard OTEL_* way, and not disabled. */
export function tracingConfigured(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return false;
  return !!(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_TRACES_EXPORTER === 'otlp');
}

/**
 * OpenTelemetry for one service process: W3C trace context from incoming
 * HTTP requests through the outbox and every AMQP message to the payment
 * gateway call, spans exported over OTLP/HTTP (OTEL_EXPORTER_OTLP_ENDPOINT,
 * OTEL_SERVICE_NAME, …). Nothing happens, and nothing costs, unless OTEL_* is
 * set (or a test passes its own exporter). Once per process.
 */
export function setupTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env, exporter?: SpanExporter): boolean {
  if (provider) return true;
  if (!exporter && !tracingConfigured(env)) return false;
  provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || serviceName }),
    spanProcessors: [exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  enableMessageTracing();
  return true;
}

/** Sends the spans still buffered (at shutdown). */
export async function flushTracing(): Promise<void> {
  await provider?.forceFlush().catch(() => undefined);
}

/** A server span per HTTP request, continuing the caller's `traceparent`; the handler (and what it publishes) runs inside it. */
@Injectable()
export class TraceInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (!provider || ctx.getType() !== 'http') return next.handle();
    const req = ctx.switchToHttp().getRequest<{ method: string; url: string; headers: Record<string, unknown>; routeOptions?: { url?: string } }>();
    const route = req.routeOptions?.url ?? req.url.split('?')[0];
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    return new Observable((sub) => {
      const span = tracer().startSpan(`${req.method} ${route}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'http.route': route } }, parent);
      const subscription = context.with(trace.setSpan(parent, span), () =>
        next.handle().subscribe({
          next: (v) => sub.next(v),
          error: (e: Error) => {
            span.recordException(e);
            span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
            span.end();
            sub.error(e);
          },
          complete: () => {
            span.end();
            sub.complete();
          },
        }),
      );
      return () => subscription.unsubscribe();
    });
  }
}

/**
 * Runs an outgoing HTTP call (the payment gateway) in a client span; `fn`
 * gets the headers that carry the trace context to the callee. With tracing
 * off it gets none and no span is made.
 */
export function withClientSpan<T>(name: string, fn: (headers: Record<string, string>) => Promise<T>): Promise<T> {
  if (!provider) return fn({});
  return tracer().startActiveSpan(name, { kind: SpanKind.CLIENT }, async (span) => {
    try {
      const headers: Record<string, string> = {};
      propagation.inject(context.active(), headers);
      return await fn(headers);
    } catch (e) {
      span.recordException(e as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
      throw e;
    } finally {
      span.end();
    }
  });
}
