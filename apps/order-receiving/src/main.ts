import 'reflect-metadata';
import { loadConfig, runMain } from '@orders/platform';
import { bootstrap } from './bootstrap';
import { OrderReceivingEnv } from './config';

runMain('order-receiving', async () => {
  await bootstrap(loadConfig(OrderReceivingEnv));
});
