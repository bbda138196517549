import 'reflect-metadata';
import { migrateService } from '@orders/persistence';
import { loadConfig, runMain } from '@orders/platform';
import { OrderReceivingEnv } from './config';
import { migrations } from './migrations';

runMain('order-receiving:db:migrate', async () => {
  const cfg = loadConfig(OrderReceivingEnv);
  const applied = await migrateService({ url: cfg.DATABASE_URL, schema: cfg.DB_SCHEMA, migrations });
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'schema is up to date');
});
