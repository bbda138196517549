// A DNS server on 127.0.0.1 (UDP) for resolver tests: answers A records from a table, NXDOMAIN, or nothing at all.
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';

/** What a name answers: IPv4 addresses (no AAAA), NXDOMAIN, or silence (a server that never answers). */
export type DnsAnswer = { a: string[] } | 'nxdomain' | 'silent';

const TYPE_A = 1;

export class FakeDns {
  readonly queries: Array<{ name: string; type: number }> = [];
  private readonly socket = dgram.createSocket('udp4');

  constructor(private readonly zone: (name: string) => DnsAnswer) {
    this.socket.on('message', (msg, from) => {
      const reply = this.answer(msg);
      if (reply) this.socket.send(reply, from.port, from.address);
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    return this;
  }

  /** `host:port`, as dns.Resolver#setServers takes it. */
  get server(): string {
    return `127.0.0.1:${(this.socket.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private answer(msg: Buffer): Buffer | undefined {
    const labels: string[] = [];
    let i = 12;
    while (msg[i] !== 0) {
      labels.push(msg.subarray(i + 1, i + 1 + msg[i]).toString('ascii'));
      i += msg[i] + 1;
    }
    const questionEnd = i + 5;
    const name = labels.join('.').toLowerCase();
    const type = msg.readUInt16BE(i + 1);
    this.queries.push({ name, type });
    const found = this.zone(name);
    if (found === 'silent') return undefined;
    const records = found === 'nxdomain' || type !== TYPE_A ? [] : found.a;
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2); // id
    header.writeUInt16BE(0x8180 | (found === 'nxdomain' ? 3 : 0), 2); // response, recursion desired and available, rcode
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(records.length, 6);
    const answers = records.map((ip) => {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      rr.writeUInt16BE(TYPE_A, 2);
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(4, 10);
      ip.split('.').forEach((b, k) => rr.writeUInt8(Number(b), 12 + k));
      return rr;
    });
    return Buffer.concat([header, msg.subarray(12, questionEnd), ...answers]);
  }
}
