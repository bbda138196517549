import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { every } from '@orders/platform';
import { OrderProcessingEnv } from '../config';
import { SagaService } from './saga.service';

/** Every ADMISSION_SWEEP_MS, starts waiting orders whose tenant has room (see TenantAdmission). One cheap query when nothing waits. */
@Injectable()
export class AdmissionReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Admission');
  private job?: { stop(): Promise<void> };

  constructor(private readonly saga: SagaService, private readonly cfg: OrderProcessingEnv) {}

  onApplicationBootstrap(): void {
    this.job = every(
      this.cfg.ADMISSION_SWEEP_MS,
      async () => {
        const n = await this.saga.admitStranded();
        if (n > 0) this.logger.log(`${n} tenant(s) with room had orders waiting: started them`);
      },
      (e) => this.logger.warn(`admission sweep failed: ${e.message}`),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.job?.stop();
  }
}
