import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Envelope } from '@orders/contracts';
import { UnitOfWork } from '@orders/messaging';
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

/**
 * One email per (order, final status), exactly once: the email is recorded
 * with the event's inbox row (handleOnce), then sent under a row lock and
 * marked sent. A redelivery finds it recorded and only sends it if it is
 * still unsent; rows left unsent by a crash are sent again at start-up.
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

  /** `firstAttemptAt`: when this event was first handled; a temporary refusal is tried again until EMAIL_TEMP_FAILURE_MAX_MS after it. */
  async onStatusChanged(env: Envelope<'order.status-changed.v1'>, firstAttemptAt: Date): Promise<void> {
    const e = env.payload;
    const customer = e.customer;
    if (!isNotifiable(e.status) || !customer) return; // no customer: a placement that could not be read
    const mail = renderStatusEmail({ ...e, customer });
    await this.uow.handleOnce(env, async (tx) => {
      tx.later(
        `INSERT INTO emails (order_id, status, tenant_id, recipient, subject, text_body, html_body, message_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (order_id, status) DO NOTHING`,
        [e.orderId, e.status, e.tenantId, customer.email, mail.subject, mail.text, mail.html, messageIdFor(e.orderId, e.status)],
      );
    });
    // Also on a duplicate: the first delivery may have recorded the email and then failed to send it.
    const result = await this.sendPending('order_id = $1 AND status = $2', [e.orderId, e.status], 'wait');
    if (typeof result === 'object') throw this.sendFailure(`email for order ${e.orderId} ${e.status}`, result.failed, firstAttemptAt);
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
        if (!this.handedToSmtp.has(row.message_id)) {
          await this.transport.send({ to: row.recipient, subject: row.subject, text: row.text_body, html: row.html_body, messageId: row.message_id });
          this.handedToSmtp.add(row.message_id);
          if (this.handedToSmtp.size > 10000) this.handedToSmtp.delete(this.handedToSmtp.values().next().value as string);
        }
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
