import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Envelope } from '@orders/contracts';
import { UnitOfWork } from '@orders/messaging';
import { prepared, type Statement } from '@orders/persistence';
import { DataSource } from 'typeorm';
import { NotificationEnv } from '../config';
import { MESSAGE_TRANSPORT, MessageTransport } from './message-transport';
import { classifySmtpFailure, NotificationError } from './notification.error';
import { isNotifiable, renderStatusEmail } from './templates';

interface PendingEmail {
  id: string;
  recipient: string;
  subject: string;
  text_body: string;
  html_body: string;
  message_id: string;
}

type SendResult = 'sent' | 'nothing' | { failed: Error };

export const messageIdFor = (orderId: string, status: string) => `<${orderId}.${status}@orders.local>`;

/** The email's row, new or the one an earlier try left (locked either way), with what the send needs. */
const UPSERT = prepared(
  'emails_upsert',
  `INSERT INTO emails (order_id, status, tenant_id, recipient, subject, text_body, html_body, message_id)
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
   ON CONFLICT (order_id, status) DO UPDATE SET order_id = emails.order_id
   RETURNING id, recipient, subject, text_body, html_body, message_id, sent_at`,
  ['uuid', 'text', 'text', 'text', 'text', 'text', 'text', 'text'],
);
const SENT = prepared('emails_sent', 'UPDATE emails SET attempts = attempts + 1, last_error = NULL, sent_at = now() WHERE id = $1', ['bigint']);

/**
 * One email per (order, final status), exactly once: recorded, sent under
 * its row lock and marked sent in the event's own transaction (with its
 * inbox row). A redelivery is a no-op; a second event for the same order
 * and status finds it sent; rows a failed send left unsent are sent by the
 * event's next try or at start-up.
 */
@Injectable()
export class EmailService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('EmailService');
  /**
   * Message-IDs this process handed to SMTP lately. When the database went
   * away between the send and recording it, the retry only records it: the
   * customer does not get the email twice. (A crash in that window still
   * sends it again, with the same Message-ID: SMTP cannot be made idempotent.)
   */
  private readonly handedToSmtp = new Set<string>();
  private sweep: Promise<number> = Promise.resolve(0);

  constructor(
    private readonly uow: UnitOfWork,
    private readonly ds: DataSource,
    private readonly cfg: NotificationEnv,
    @Inject(MESSAGE_TRANSPORT) private readonly transport: MessageTransport,
  ) {}

  /**
   * One transaction: the inbox row, the email's row (new, or the one a
   * failed earlier try left, locked either way), the send while it is
   * locked, and `sent_at` with the COMMIT: two round trips (the row goes
   * with the inbox row in the first). A failed send
   * rolls all of it back (the event is tried again) and is then recorded on
   * the row (attempts, last_error), for operators and the start-up resend.
   * `firstAttemptAt`: when this event was first handled; a temporary
   * refusal is tried again until EMAIL_TEMP_FAILURE_MAX_MS after it.
   */
  async onStatusChanged(env: Envelope<'order.status-changed.v1'>, firstAttemptAt: Date): Promise<void> {
    const e = env.payload;
    const customer = e.customer;
    if (!isNotifiable(e.status) || !customer) return; // no customer: a placement that could not be read
    const mail = renderStatusEmail({ ...e, customer });
    const values = [e.orderId, e.status, e.tenantId, customer.email, mail.subject, mail.text, mail.html, messageIdFor(e.orderId, e.status)];
    let failed: Error | undefined;
    try {
      // the row goes with the inbox row, in the round trip that opens the transaction
      const upsert: Statement = { prepared: UPSERT, params: values };
      await this.uow.handleOnce(env, async (tx, [rows]) => {
        const row = rows[0] as unknown as PendingEmail & { sent_at: Date | null };
        if (row.sent_at) return; // sent by an earlier event for the same order and status
        try {
          await this.handOver(row);
        } catch (err) {
          failed = err instanceof Error ? err : new Error(String(err));
          throw failed;
        }
        tx.later(SENT, [row.id]);
      }, upsert);
    } catch (err) {
      if (!failed) throw err; // the database's failure, not the send's: the transport decides (retry or wait)
      await this.ds.query(
        `INSERT INTO emails (order_id, status, tenant_id, recipient, subject, text_body, html_body, message_id, attempts, last_error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9)
         ON CONFLICT (order_id, status) DO UPDATE SET attempts = emails.attempts + 1, last_error = $9 WHERE emails.sent_at IS NULL`,
        [...values, failed.message.slice(0, 1000)],
      ).catch(() => undefined); // a record for operators: the event is tried again all the same
      throw this.sendFailure(`email for order ${e.orderId} ${e.status}`, failed, firstAttemptAt);
    }
  }

  /** Hands the email to SMTP, unless this process already did (its database went away before recording it). */
  private async handOver(row: PendingEmail): Promise<void> {
    if (this.handedToSmtp.has(row.message_id)) return;
    await this.transport.send({ to: row.recipient, subject: row.subject, text: row.text_body, html: row.html_body, messageId: row.message_id });
    this.handedToSmtp.add(row.message_id);
    if (this.handedToSmtp.size > 10000) this.handedToSmtp.delete(this.handedToSmtp.values().next().value as string);
  }

  /** A failed send as the module's error: an outage waits, a temporary refusal is tried again for a while, anything else is retried, then dead-lettered. */
  private sendFailure(what: string, failed: Error, firstAttemptAt: Date): NotificationError {
    const kind = classifySmtpFailure(failed);
    if (kind === 'unavailable') return new NotificationError('smtp_unavailable', `${what} waits: SMTP unavailable (${failed.message})`, failed);
    if (kind === 'temporary' && Date.now() - firstAttemptAt.getTime() < this.cfg.EMAIL_TEMP_FAILURE_MAX_MS) {
      return new NotificationError('send_deferred', `${what} refused for now, tried again later: ${failed.message}`, failed);
    }
    return new NotificationError('send_failed', `${what} not sent: ${failed.message}`, failed);
  }

  /** Sends every email left unsent (by a crash, or while SMTP was down); stops at the first failure. */
  async resendUnsent(): Promise<number> {
    let sent = 0;
    let after = '0';
    for (;;) {
      const ids: Array<{ id: string }> = await this.ds.query(
        'SELECT id FROM emails WHERE sent_at IS NULL AND id > $1 ORDER BY id LIMIT 100',
        [after],
      );
      if (ids.length === 0) return sent;
      for (const { id } of ids) {
        const r = await this.sendPending('id = $1', [id], 'skip-locked');
        if (typeof r === 'object') throw this.sendFailure(`resend of email ${id}`, r.failed, new Date());
        if (r === 'sent') sent++;
        after = id;
      }
    }
  }

  onApplicationBootstrap(): void {
    this.sweep = this.resendUnsent().then(
      (n) => {
        if (n) this.logger.log(`resent ${n} email(s) left unsent`);
        return n;
      },
      (err: unknown) => {
        this.logger.warn(`start-up resend stopped: ${err instanceof Error ? err.message : String(err)}`);
        return 0;
      },
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.sweep;
  }

  /**
   * Sends the matching unsent email while holding its row lock, so two
   * deliveries never both send it; marks it sent in the same transaction.
   * A failed send is recorded (attempts, last_error) and reported.
   */
  private async sendPending(where: string, params: unknown[], lock: 'wait' | 'skip-locked'): Promise<SendResult> {
    return this.ds.transaction(async (m): Promise<SendResult> => {
      const rows: PendingEmail[] = await m.query(
        `SELECT id, recipient, subject, text_body, html_body, message_id FROM emails
         WHERE ${where} AND sent_at IS NULL FOR UPDATE${lock === 'skip-locked' ? ' SKIP LOCKED' : ''}`,
        params,
      );
      const row = rows[0];
      if (!row) return 'nothing';
      try {
        await this.handOver(row);
      } catch (err) {
        const failed = err instanceof Error ? err : new Error(String(err));
        await m.query('UPDATE emails SET attempts = attempts + 1, last_error = $2 WHERE id = $1', [row.id, failed.message.slice(0, 1000)]);
        return { failed };
      }
      await m.query('UPDATE emails SET attempts = attempts + 1, last_error = NULL, sent_at = now() WHERE id = $1', [row.id]);
      return 'sent';
    });
  }
}
