import 'reflect-metadata';
import { loadConfig, runMain } from '@orders/platform';
import { bootstrap } from './bootstrap';
import { NotificationEnv } from './config';

runMain('notification', async () => {
  await bootstrap(loadConfig(NotificationEnv));
});
