import { Injectable, Logger } from '@nestjs/common';
import { OrderProcessingEnv } from '../config';
import { AuthorizeResult, GatewayClient } from './gateway-client';
import { PaymentError } from './payment.error';

/** What authorizing at the gateway came to. */
export type AuthorizationOutcome =
  | AuthorizeResult
  /** The gateway stayed unavailable past PAYMENT_MAX_WAIT_MS, or answered something unusable. */
  | { outcome: 'failed'; reason: 'payment_unavailable' | 'payment_error' };

/** What an authorization is for. */
export interface AuthorizationRequest {
  orderId: string;
  amountCents: number;
  currency: string;
  token: string;
}

/**
 * Authorizing an order's total: outside any database transaction, with the
 * gateway's idempotency key (a repeat gets the same answer). While the
 * gateway is unavailable the step is deferred (PaymentError
 * 'gateway_unavailable') until PAYMENT_MAX_WAIT_MS from its first attempt;
 * then it is 'failed'. Captures and voids are jobs (SettlementJobs).
 */
@Injectable()
export class PaymentsService {
  private readonly logger = new Logger('Payments');

  constructor(private readonly gateway: GatewayClient, private readonly cfg: OrderProcessingEnv) {}

  /** `firstAttemptAt`: when this step was first tried; the wait for an unavailable gateway is measured from it. */
  async authorize(req: AuthorizationRequest, firstAttemptAt: Date): Promise<AuthorizationOutcome> {
    try {
      return await this.gateway.authorize(req);
    } catch (e) {
      if (!(e instanceof PaymentError)) throw e;
      const unavailable = e.code === 'gateway_unavailable';
      if (unavailable && Date.now() - firstAttemptAt.getTime() < this.cfg.PAYMENT_MAX_WAIT_MS) throw e; // deferred: waits in delayed retry
      this.logger.error(`order ${req.orderId}: ${unavailable ? `gateway still unavailable after ${this.cfg.PAYMENT_MAX_WAIT_MS} ms` : 'unusable gateway answer'} (${e.message}); failing the order`);
      return { outcome: 'failed', reason: unavailable ? 'payment_unavailable' : 'payment_error' };
    }
  }
}
