import { createConnection, createServer, Server, Socket } from 'node:net';

/**
 * A TCP proxy in front of a real server (RabbitMQ, PostgreSQL) so a test can
 * cut every connection, or refuse new ones for a while, without touching the
 * server itself or anybody else's connections to it.
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private refusing = false;
  port = 0;

  constructor(private readonly targetHost: string, private readonly targetPort: number) {}

  async start(): Promise<number> {
    this.server = createServer((client) => {
      if (this.refusing) {
        client.destroy();
        return;
      }
      const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server!.address() as { port: number }).port;
    return this.port;
  }

  /** Cuts every open connection (both directions), as a network failure or server restart would. */
  dropAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** While refusing, new connections are closed at once (server down). */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  async stop(): Promise<void> {
    this.dropAll();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
