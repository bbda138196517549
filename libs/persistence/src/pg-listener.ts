import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { assertIdentifier } from './database';

export interface PgListenerOptions {
  url: string;
  channel: string;
  applicationName: string;
  /** Called for every notification on the channel. */
  onNotify(payload: string | undefined): void;
  /**
   * Called each time LISTEN is (re)established: notifications sent while no
   * connection was listening are lost, so the owner catches up here.
   */
  onListening(): void;
}

/**
 * One dedicated PostgreSQL connection that LISTENs on a channel and comes
 * back by itself (backoff 0.2 s → 5 s) after the connection drops or the
 * server restarts. Used by the outbox relay, the SSE hub and the webhook
 * dispatcher: each is woken by NOTIFY instead of polling.
 */
export class PgListener {
  private readonly logger: Logger;
  private client?: Client;
  private stopped = false;
  private retryMs = 200;
  private timer?: NodeJS.Timeout;

  constructor(private readonly o: PgListenerOptions) {
    assertIdentifier(o.channel, 'LISTEN channel');
    this.logger = new Logger(`PgListener:${o.channel}`);
  }

  get listening(): boolean {
    return this.client !== undefined;
  }

  /** Connects and LISTENs; if the database is not reachable yet, keeps trying in the background. */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({ connectionString: this.o.url, application_name: this.o.applicationName });
    client.on('notification', (m) => this.o.onNotify(m.payload));
    client.on('error', (err) => this.logger.warn(`LISTEN connection error: ${err.message}`));
    client.on('end', () => {
      if (this.stopped || this.client !== client) return;
      this.client = undefined;
      this.schedule();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.o.channel}`);
      if (this.stopped) {
        await client.end().catch(() => undefined);
        return;
      }
      this.client = client;
      this.retryMs = 200;
      this.o.onListening();
    } catch (e) {
      this.logger.warn(`cannot LISTEN yet: ${(e as Error).message}`);
      await client.end().catch(() => undefined);
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.connect(), this.retryMs);
    this.timer.unref();
    this.retryMs = Math.min(this.retryMs * 2, 5000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}
