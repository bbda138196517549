import 'reflect-metadata';
import { migrateService } from '@orders/persistence';
import { loadConfig, runMain } from '@orders/platform';
import { NotificationEnv } from './config';
import { migrations } from './migrations';

runMain('notification:db:migrate', async () => {
  const cfg = loadConfig(NotificationEnv);
  const applied = await migrateService({ url: cfg.DATABASE_URL, schema: cfg.DB_SCHEMA, migrations });
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'schema is up to date');
});
