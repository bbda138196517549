import 'reflect-metadata';
import { loadConfig, runMain } from '@orders/platform';
import { bootstrap } from './bootstrap';
import { MailCatcherEnv } from './config';

runMain('mail-catcher', async () => {
  await bootstrap(loadConfig(MailCatcherEnv));
});
