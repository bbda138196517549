import 'reflect-metadata';
import { loadConfig, runMain } from '@orders/platform';
import { bootstrap } from './bootstrap';
import { InventoryEnv } from './config';

runMain('inventory', async () => {
  await bootstrap(loadConfig(InventoryEnv));
});
