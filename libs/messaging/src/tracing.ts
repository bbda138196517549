import { context, propagation, ROOT_CONTEXT, Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

/**
 * W3C trace context through the messaging plumbing: captured when a message
 * is written to the outbox (the row's trace_context), sent as AMQP headers
 * (traceparent, tracestate) by the relay, and continued by the consumer
 * around its handler. Off (no work per message) until the platform's
 * tracing set-up enables it (OTEL_* configured).
 */
let enabled = false;

export function enableMessageTracing(on = true): void {
  enabled = on;
}

const tracer = () => trace.getTracer('@orders/messaging');

/** The active trace context as stored with an outbox row (JSON of the W3C headers), or null. */
export function captureTraceContext(): string | null {
  if (!enabled) return null;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? JSON.stringify(carrier) : null;
}

/** AMQP headers for a stored trace context (empty when there is none). */
export function traceHeaders(stored: string | null | undefined): Record<string, string> {
  if (!stored) return {};
  try {
    const c = JSON.parse(stored) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(c).filter(([k, v]) => (k === 'traceparent' || k === 'tracestate') && typeof v === 'string')) as Record<string, string>;
  } catch {
    return {};
  }
}

const headerGetter = {
  keys: (h: Record<string, unknown>) => Object.keys(h),
  get: (h: Record<string, unknown>, key: string) => {
    const v = h[key];
    return v === undefined ? undefined : Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  },
};

/** Runs a consumer's handling of one message in a span continuing the publisher's trace (its AMQP headers). */
export function withConsumerSpan<T>(queue: string, name: string, headers: Record<string, unknown> | undefined, fn: () => Promise<T>): Promise<T> {
  if (!enabled) return fn();
  const parent = propagation.extract(ROOT_CONTEXT, headers ?? {}, headerGetter);
  return tracer().startActiveSpan(`${queue} process ${name}`, { kind: SpanKind.CONSUMER, attributes: { 'messaging.system': 'rabbitmq', 'messaging.destination.name': queue, 'messaging.message.type': name } }, parent, (span) =>
    endSpan(span, fn),
  );
}

/** Ends `span` when `fn` settles, recording a failure. */
async function endSpan<T>(span: Span, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    span.recordException(e as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
    throw e;
  } finally {
    span.end();
  }
}
