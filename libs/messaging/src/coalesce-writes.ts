import type { Writable } from 'node:stream';

/**
 * Makes every write to `socket` in one tick of the event loop leave in one
 * system call: the first write of a tick corks the socket, the next tick
 * uncorks it. amqplib writes each frame on its own (every ack, every
 * publish's frames), and on this kind of machine a socket write costs more
 * than the frame; a burst of acks and publishes now costs one writev.
 * `noDelay` still applies: nothing waits beyond the current tick.
 */
export function coalesceWrites(socket: Writable): void {
  const marked = socket as Writable & { coalescing?: true };
  if (marked.coalescing) return;
  marked.coalescing = true;
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = ((...args: unknown[]) => {
    if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  }) as Writable['write'];
}
