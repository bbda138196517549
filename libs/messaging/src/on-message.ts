import { applyDecorators, ArgumentsHost, Catch, RpcExceptionFilter, UseFilters } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import { Observable, throwError } from 'rxjs';
import type { Envelope, MessageOf, QueueName } from './schema';

/** Hands the handler's own error to the transport (Nest's default filter would replace it with a generic object). */
@Catch()
export class RethrowToTransportFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => exception);
  }
}

/** What @OnMessage stores with the handler for the transport. */
export interface OnMessageExtras {
  queue: string;
  message: string;
  /**
   * Handle this message only after every message delivered before it on the
   * same queue (to this consumer) has been acknowledged or failed: with a
   * prefetch above one, deliveries are otherwise handled side by side.
   */
  afterEarlier?: boolean;
  /**
   * Safe to handle with other messages of its queue in one transaction: every
   * write of the handler goes through UnitOfWork, and it does nothing outside
   * the database before that transaction commits (no HTTP call, no email, no
   * other connection). A queue is consumed in batches only when all its
   * handlers are.
   */
  batchable?: boolean;
  /**
   * With `batchable`: in a batch, the handler starts together with the
   * others of its batch instead of after the one before it, so the
   * one-statement effects they issue (UnitOfWork.handleOnceInOneStatement)
   * reach PostgreSQL in one message. For handlers whose effects do not depend
   * on each other's order (status events applied out-of-order safe, say). A
   * queue's batches run together only when all its handlers do.
   */
  together?: boolean;
}

/**
 * Marks a method as the handler of one message on one of this service's
 * queues. Both are checked against the registered topology at compile time,
 * and so is the handler's first parameter: it receives the validated
 * `Envelope<name>`. What it returns is sent back to a requester
 * (AmqpConnection.request), after the acknowledgement.
 */
export function OnMessage<Q extends QueueName, N extends MessageOf<Q>>(
  queue: Q,
  name: N,
  opts: Pick<OnMessageExtras, 'afterEarlier' | 'batchable' | 'together'> = {},
): <F extends (env: Envelope<N>, ...rest: never[]) => unknown>(target: object, key: string | symbol, d: TypedPropertyDescriptor<F>) => void {
  const extras: OnMessageExtras = { queue, message: name, ...opts };
  return applyDecorators(EventPattern(`${queue}#${name}`, extras), UseFilters(new RethrowToTransportFilter())) as never;
}
