import { Module } from '@nestjs/common';
import { OrderStore } from './order-store';

/** The orders table, shared by the saga and the payment steps. */
@Module({ providers: [OrderStore], exports: [OrderStore] })
export class OrderStoreModule {}
