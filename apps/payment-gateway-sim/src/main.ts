import 'reflect-metadata';
import { loadConfig, runMain } from '@orders/platform';
import { bootstrap } from './bootstrap';
import { PaymentSimEnv } from './config';

runMain('payment-gateway-sim', async () => {
  await bootstrap(loadConfig(PaymentSimEnv));
});
