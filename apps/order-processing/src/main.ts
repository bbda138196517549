import 'reflect-metadata';
import { loadConfig, runMain } from '@orders/platform';
import { bootstrap } from './bootstrap';
import { OrderProcessingEnv } from './config';

runMain('order-processing', async () => {
  await bootstrap(loadConfig(OrderProcessingEnv));
});
