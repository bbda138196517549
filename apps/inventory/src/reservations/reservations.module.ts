import { Module } from '@nestjs/common';
import { ReservationExpiry } from './reservation-expiry';
import { ReservationsController } from './reservations.controller';
import { ReservationsService } from './reservations.service';

@Module({
  controllers: [ReservationsController],
  providers: [ReservationsService, ReservationExpiry],
})
export class ReservationsModule {}
