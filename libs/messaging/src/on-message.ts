import { applyDecorators, ArgumentsHost, Catch, RpcExceptionFilter, UseFilters } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import type { QUEUES, QueueName } from '@orders/contracts';
import { Observable, throwError } from 'rxjs';

/** Hands the handler's own error to the transport (Nest's default filter would replace it with a generic object). */
@Catch()
export class RethrowToTransportFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => exception);
  }
}

/**
 * Marks a method as the handler of one message on one of this service's
 * queues. Both are checked against the contracts' topology at compile time;
 * the handler receives the validated `Envelope<name>` as its @Payload().
 */
export function OnMessage<Q extends QueueName, N extends (typeof QUEUES)[Q][number]>(queue: Q, name: N): MethodDecorator {
  return applyDecorators(EventPattern(name, { queue }), UseFilters(new RethrowToTransportFilter()));
}
