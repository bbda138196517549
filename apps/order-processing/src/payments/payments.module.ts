import { Inject, Module, OnModuleDestroy } from '@nestjs/common';
import { OrderProcessingEnv } from '../config';
import { GatewayClient } from './gateway-client';
import { PaymentsService } from './payments.service';
import { SettlementJobs } from './settlements';

/** The payment gateway: authorizing (for the saga) and the capture and void jobs. It knows nothing of orders' tables. */
@Module({
  providers: [
    PaymentsService,
    SettlementJobs,
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
  exports: [PaymentsService, SettlementJobs],
})
export class PaymentsModule implements OnModuleDestroy {
  constructor(@Inject(GatewayClient) private readonly gateway: GatewayClient) {}
  onModuleDestroy(): void {
    this.gateway.shutdown();
  }
}
