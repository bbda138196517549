import { connect, Socket } from 'node:net';
import { createTransport, Transporter } from 'nodemailer';

/** One message to one customer, rendered and ready to go. */
export interface OutgoingMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Deterministic, so a resend after a crash mid-send is recognisable as the same message. */
  messageId: string;
}

/** The seam between "what to tell the customer" and "how it travels": SMTP today, an SMS gateway could implement it too. */
export interface MessageTransport {
  send(m: OutgoingMessage): Promise<void>;
}
export const MESSAGE_TRANSPORT = Symbol('MESSAGE_TRANSPORT');

export interface SmtpOptions {
  host: string;
  port: number;
  timeoutMs: number;
  from: string;
  /** Pooled SMTP connections kept open (default 4). */
  maxConnections?: number;
}

/** Email over SMTP with nodemailer; a failed send rejects (the caller decides about retries). */
export class SmtpTransport implements MessageTransport {
  private readonly t: Transporter;

  constructor(private readonly o: SmtpOptions) {
    this.t = createTransport({
      host: o.host,
      port: o.port,
      secure: false,
      // Reuse SMTP connections instead of a new one per email.
      pool: true,
      maxConnections: o.maxConnections ?? 4,
      connectionTimeout: o.timeoutMs,
      greetingTimeout: o.timeoutMs,
      socketTimeout: o.timeoutMs,
      // nodemailer leaves Nagle's algorithm on: the end of a message's DATA then waits for the server's delayed ACK
      // (about 40 ms per email here). Its sockets are opened here, with noDelay; STARTTLS still upgrades them. One
      // that cannot be opened is left to nodemailer (false), whose pool reports that failure properly (a pooled
      // connection whose getSocket fails is never freed).
      getSocket: (opts: { host?: string; port?: number }, done: (err: Error | null, socket: { connection: Socket } | false) => void) => {
        const socket = connect({ host: opts.host ?? o.host, port: opts.port ?? o.port, noDelay: true, timeout: o.timeoutMs });
        const fallBack = () => {
          socket.destroy();
          done(null, false);
        };
        socket.once('error', fallBack);
        socket.once('timeout', fallBack);
        socket.once('connect', () => {
          socket.removeListener('error', fallBack);
          socket.removeListener('timeout', fallBack);
          socket.setTimeout(0); // nodemailer's socketTimeout takes over
          done(null, { connection: socket });
        });
      },
    });
  }

  async send(m: OutgoingMessage): Promise<void> {
    await this.t.sendMail({ from: this.o.from, to: m.to, subject: m.subject, text: m.text, html: m.html, messageId: m.messageId });
  }

  close(): void {
    this.t.close();
  }
}
