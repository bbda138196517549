import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { OrderProcessingEnv } from '../config';
import { SagaService } from './saga.service';

/** Every ADMISSION_SWEEP_MS, starts waiting orders whose tenant has room (see TenantAdmission). One cheap query when nothing waits. */
@Injectable()
export class AdmissionReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Admission');
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(private readonly saga: SagaService, private readonly cfg: OrderProcessingEnv) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.saga
        .admitStranded()
        .then((n) => {
          if (n > 0) this.logger.log(`started ${n} waiting order(s) left behind by a concurrent finish`);
        })
        .catch((e: Error) => this.logger.warn(`admission sweep failed: ${e.message}`))
        .finally(() => (this.running = undefined));
    }, this.cfg.ADMISSION_SWEEP_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
