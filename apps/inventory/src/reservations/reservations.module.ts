import { Module } from '@nestjs/common';
import { ReservationExpiry } from './reservation-expiry';
import { ReservationsConsumer } from './reservations.consumer';
import { ReservationsService } from './reservations.service';

@Module({
  controllers: [ReservationsConsumer],
  providers: [ReservationsService, ReservationExpiry],
})
export class ReservationsModule {}
