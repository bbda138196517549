import { Inject, Module, OnModuleDestroy } from '@nestjs/common';
import { OrderProcessingEnv } from '../config';
import { OrderStoreModule } from '../orders/order-store.module';
import { GatewayClient } from './gateway-client';
import { PaymentsConsumer } from './payments.consumer';
import { PaymentsService } from './payments.service';

@Module({
  imports: [OrderStoreModule],
  controllers: [PaymentsConsumer],
  providers: [
    PaymentsService,
    {
      provide: GatewayClient,
      useFactory: (cfg: OrderProcessingEnv) =>
        new GatewayClient({
          baseUrl: cfg.PAYMENT_GATEWAY_URL,
          timeoutMs: cfg.PAYMENT_TIMEOUT_MS,
          retries: cfg.PAYMENT_RETRIES,
          backoffBaseMs: cfg.PAYMENT_BACKOFF_BASE_MS,
          backoffMaxMs: cfg.PAYMENT_BACKOFF_MAX_MS,
          breaker: {
            errorThresholdPercentage: cfg.BREAKER_ERROR_THRESHOLD_PERCENT,
            volumeThreshold: cfg.BREAKER_VOLUME_THRESHOLD,
            resetTimeoutMs: cfg.BREAKER_RESET_MS,
            rollingWindowMs: cfg.BREAKER_WINDOW_MS,
          },
        }),
      inject: [OrderProcessingEnv],
    },
  ],
  exports: [PaymentsService],
})
export class PaymentsModule implements OnModuleDestroy {
  constructor(@Inject(GatewayClient) private readonly gateway: GatewayClient) {}
  onModuleDestroy(): void {
    this.gateway.shutdown();
  }
}
