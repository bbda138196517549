import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Envelope } from '@orders/contracts';
import { OnMessage } from '@orders/messaging';
import { ReservationsService } from './reservations.service';

/** Commands from order-processing on `inventory.commands`. */
@Controller()
export class ReservationsConsumer {
  constructor(private readonly reservations: ReservationsService) {}

  @OnMessage('inventory.commands', 'inventory.reserve.v1', { batchable: true })
  reserve(@Payload() env: Envelope<'inventory.reserve.v1'>): Promise<void> {
    return this.reservations.reserve(env);
  }

  @OnMessage('inventory.commands', 'inventory.commit.v1', { batchable: true })
  commit(@Payload() env: Envelope<'inventory.commit.v1'>): Promise<void> {
    return this.reservations.commit(env);
  }

  @OnMessage('inventory.commands', 'inventory.release.v1', { batchable: true })
  release(@Payload() env: Envelope<'inventory.release.v1'>): Promise<void> {
    return this.reservations.release(env);
  }
}
