import 'reflect-metadata';
import { loadConfig, runMain } from '@orders/platform';
import { StorefrontDemoEnv } from './config';
import { startServer } from './server';

runMain('storefront-demo', async () => {
  const app = await startServer(loadConfig(StorefrontDemoEnv));
  const stop = () => void app.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
});
