import { createServer, IncomingMessage, Server } from 'node:http';
import { TcpProxy } from '@orders/testing';

export interface WebhookCall {
  webhookId: string;
  orderId: string;
  status: string;
  sequence: number;
}

/** The tenant's webhook endpoint: records every request (retries included) and answers 204. */
export class WebhookReceiver {
  readonly calls: WebhookCall[] = [];
  readonly malformed: string[] = [];
  private server?: Server;
  port = 0;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void readBody(req).then((text) => {
        try {
          const body = JSON.parse(text) as { data: { orderId: string; status: string; sequence: number } };
          this.calls.push({ webhookId: String(req.headers['webhook-id'] ?? ''), orderId: body.data.orderId, status: body.data.status, sequence: body.data.sequence });
        } catch {
          this.malformed.push(text.slice(0, 200));
        }
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server!.address() as { port: number }).port;
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(''));
  });
}

export interface CaughtMail {
  /** The catcher's own id (unique per stored message, per catcher process). */
  id: string;
  messageId: string;
  subject: string;
  to: string;
  /** When the catcher stored it. */
  created: string;
}

/**
 * Everything the mail catcher received over the whole run, although the
 * catcher keeps mail in memory and the suite kill -9s it: notification's SMTP
 * goes through a proxy, and before each kill the proxy refuses and cuts every
 * session, then the catcher's store is read one last time (nothing can land
 * in between), so no mail is lost to the suite's own fault.
 */
export class MailCollector {
  private readonly byId = new Map<string, CaughtMail>();
  readonly proxy: TcpProxy;

  constructor(smtpPort: number, private readonly catcherUrl: () => string) {
    this.proxy = new TcpProxy('127.0.0.1', smtpPort);
  }

  async collect(): Promise<number> {
    const res = await fetch(`${this.catcherUrl()}/api/v1/messages?limit=5000`);
    if (res.status !== 200) throw new Error(`mail catcher: ${res.status}`);
    const page = (await res.json()) as { total: number; messages: Array<{ ID: string; MessageID: string; Subject: string; Created: string; To: Array<{ Address: string }> }> };
    if (page.total > page.messages.length) throw new Error(`mail catcher holds ${page.total} messages, more than one page`);
    for (const m of page.messages) this.byId.set(m.ID, { id: m.ID, messageId: m.MessageID, subject: m.Subject, to: m.To[0]?.Address ?? '', created: m.Created });
    return this.byId.size;
  }

  private async rawTotal(): Promise<number> {
    const res = await fetch(`${this.catcherUrl()}/api/v1/messages?limit=1`);
    return ((await res.json()) as { total: number }).total;
  }

  /** Call before killing the catcher: no SMTP session is left open and nothing new can arrive; returns what is kept. */
  async freeze(): Promise<number> {
    this.proxy.refuse(true);
    this.proxy.dropAll();
    // a message whose last byte arrived just before the cut may still be in the catcher's parser: read until it stops changing
    let total = await this.rawTotal();
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      const now = await this.rawTotal();
      if (now === total) break;
      total = now;
    }
    return this.collect();
  }

  thaw(): void {
    this.proxy.refuse(false);
  }

  get all(): CaughtMail[] {
    return [...this.byId.values()];
  }
}
