import { randomBytes } from 'node:crypto';
import type { AddressObject, ParsedMail } from 'mailparser';

export interface Address {
  Name: string;
  Address: string;
}

/** One captured message, already in the field names of Mailpit's API. */
export interface StoredMessage {
  ID: string;
  MessageID: string;
  Read: boolean;
  From: Address;
  To: Address[];
  Cc: Address[];
  Bcc: Address[];
  ReplyTo: Address[];
  ReturnPath: string;
  Subject: string;
  Date: string;
  Created: string;
  Size: number;
  Text: string;
  HTML: string;
  Attachments: Array<{ PartID: string; FileName: string; ContentType: string; Size: number }>;
  Tags: string[];
}

/** A message as listed by `GET /api/v1/messages`: the stored fields without the bodies, attachments counted. */
export type MessageSummary = Omit<StoredMessage, 'ReturnPath' | 'Date' | 'Text' | 'HTML' | 'Attachments'> & {
  Attachments: number;
  Snippet: string;
};

export interface MessagesPage {
  total: number;
  unread: number;
  count: number;
  messages_count: number;
  start: number;
  tags: string[];
  messages: MessageSummary[];
}

/** Envelope facts the SMTP session knows and the headers may not (Bcc, return path). */
export interface SmtpEnvelope {
  mailFrom: string;
  rcptTo: string[];
}

/** The captured messages, newest last, bounded to `max` (the oldest are dropped). */
export class MailStore {
  private messages: StoredMessage[] = [];

  constructor(private readonly max: number) {}

  add(mail: ParsedMail, size: number, envelope: SmtpEnvelope): StoredMessage {
    const to = addresses(mail.to);
    const cc = addresses(mail.cc);
    const visible = new Set([...to, ...cc].map((a) => a.Address.toLowerCase()));
    const m: StoredMessage = {
      ID: randomBytes(16).toString('base64url'),
      MessageID: (mail.messageId ?? '').replace(/^<|>$/g, ''),
      Read: false,
      From: addresses(mail.from)[0] ?? { Name: '', Address: envelope.mailFrom },
      To: to,
      Cc: cc,
      Bcc: envelope.rcptTo.filter((a) => !visible.has(a.toLowerCase())).map((a) => ({ Name: '', Address: a })),
      ReplyTo: addresses(mail.replyTo),
      ReturnPath: envelope.mailFrom,
      Subject: mail.subject ?? '',
      Date: (mail.date ?? new Date()).toISOString(),
      Created: new Date().toISOString(),
      Size: size,
      Text: mail.text ?? '',
      HTML: typeof mail.html === 'string' ? mail.html : '',
      Attachments: mail.attachments.map((a, i) => ({ PartID: String(i + 2), FileName: a.filename ?? '', ContentType: a.contentType, Size: a.size })),
      Tags: [],
    };
    this.messages.push(m);
    if (this.messages.length > this.max) this.messages.splice(0, this.messages.length - this.max);
    return m;
  }

  /** Newest first, `limit` of them after skipping `start`. */
  page(start: number, limit: number): MessagesPage {
    const newestFirst = [...this.messages].reverse();
    const messages = newestFirst.slice(start, start + limit).map(summary);
    return {
      total: this.messages.length,
      unread: this.messages.filter((m) => !m.Read).length,
      count: messages.length,
      messages_count: this.messages.length,
      start,
      tags: [],
      messages,
    };
  }

  /** The message (`latest` is the newest); reading it marks it read. */
  read(id: string): StoredMessage | undefined {
    const m = id === 'latest' ? this.messages[this.messages.length - 1] : this.messages.find((x) => x.ID === id);
    if (m) m.Read = true;
    return m;
  }

  /** Deletes the given messages, or all of them when no ids are given. */
  delete(ids?: string[]): void {
    if (!ids?.length) {
      this.messages = [];
      return;
    }
    const drop = new Set(ids);
    this.messages = this.messages.filter((m) => !drop.has(m.ID));
  }
}

export function summary(m: StoredMessage): MessageSummary {
  return {
    ID: m.ID,
    MessageID: m.MessageID,
    Read: m.Read,
    From: m.From,
    To: m.To,
    Cc: m.Cc,
    Bcc: m.Bcc,
    ReplyTo: m.ReplyTo,
    Subject: m.Subject,
    Created: m.Created,
    Size: m.Size,
    Attachments: m.Attachments.length,
    Snippet: m.Text.replace(/\s+/g, ' ').trim().slice(0, 250),
    Tags: m.Tags,
  };
}

function addresses(field: AddressObject | AddressObject[] | undefined): Address[] {
  if (!field) return [];
  const list = Array.isArray(field) ? field : [field];
  return list.flatMap((o) => o.value).flatMap((a) =>
    a.group ? a.group.map((g) => ({ Name: g.name ?? '', Address: g.address ?? '' })) : [{ Name: a.name ?? '', Address: a.address ?? '' }],
  );
}
