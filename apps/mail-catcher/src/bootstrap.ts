import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHttpApp } from '@orders/platform';
import { AppModule } from './app.module';
import { MailCatcherEnv } from './config';
import { SmtpCatcher } from './messages/smtp-catcher';

/** Starts SMTP, then the HTTP API (so ready means both listen); used by main.ts and the tests. */
export async function bootstrap(cfg: MailCatcherEnv): Promise<NestFastifyApplication> {
  const app = await createHttpApp(AppModule.register(cfg), { serviceName: 'mail-catcher', logLevel: cfg.LOG_LEVEL });
  await app.get(SmtpCatcher).listen(cfg.SMTP_PORT, cfg.SMTP_HOST);
  await app.listen(cfg.PORT, cfg.HOST);
  return app;
}
