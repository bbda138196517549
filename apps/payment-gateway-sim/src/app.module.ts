import { DynamicModule, Module } from '@nestjs/common';
import { HealthModule, MetricsModule } from '@orders/platform';
import { AuthorizationsController } from './authorizations/authorizations.controller';
import { AuthorizationsService } from './authorizations/authorizations.service';
import { Journal } from './authorizations/journal';
import { PaymentSimEnv } from './config';
import { ControlController } from './control/control.controller';
import { ControlService } from './control/control.service';

@Module({})
export class AppModule {
  static register(cfg: PaymentSimEnv): DynamicModule {
    return {
      module: AppModule,
      imports: [HealthModule.forRoot({ database: false, broker: false }), MetricsModule],
      controllers: [AuthorizationsController, ControlController],
      providers: [
        { provide: PaymentSimEnv, useValue: cfg },
        { provide: ControlService, useFactory: () => new ControlService({ latencyMs: cfg.SIM_LATENCY_MS, errorRate: cfg.SIM_ERROR_RATE, outage: cfg.SIM_OUTAGE }) },
        { provide: AuthorizationsService, useFactory: () => new AuthorizationsService(cfg.SIM_MAX_ENTRIES, new Journal(cfg.stateFile)) },
      ],
    };
  }
}
