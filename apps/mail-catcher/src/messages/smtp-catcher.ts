import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { simpleParser } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { MailStore } from './mail-store';

/** An SMTP server with no auth that accepts every message and keeps it in the store. */
export class SmtpCatcher implements OnApplicationShutdown {
  private readonly logger = new Logger('SmtpCatcher');
  private readonly server: SMTPServer;

  constructor(private readonly store: MailStore, maxBytes: number) {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      size: maxBytes,
      banner: 'orders dev mail catcher',
      onData: (stream, session, done) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('error', (e: Error) => done(e));
        stream.on('end', () => {
          if (stream.sizeExceeded) return done(Object.assign(new Error('message exceeds the size limit'), { responseCode: 552 }));
          const raw = Buffer.concat(chunks);
          const envelope = {
            mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            rcptTo: session.envelope.rcptTo.map((r) => r.address),
          };
          simpleParser(raw)
            .then((mail) => {
              const m = this.store.add(mail, raw.length, envelope);
              this.logger.debug(`captured ${m.ID} "${m.Subject}" for ${envelope.rcptTo.join(', ')}`);
              done();
            })
            .catch((e: unknown) => done(e instanceof Error ? e : new Error(String(e))));
        });
      },
    });
    this.server.on('error', (e) => this.logger.warn(`smtp: ${e.message}`));
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = this.server.server;
      s.once('error', reject);
      this.server.listen(port, host, () => {
        s.off('error', reject);
        resolve();
      });
    });
  }

  /** The bound port (useful when started on port 0). */
  get port(): number {
    return (this.server.server.address() as AddressInfo).port;
  }

  onApplicationShutdown(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.server.listening) return resolve();
      this.server.close(() => resolve());
    });
  }
}
