/**
 * Runs `job` every `intervalMs`, never two passes at once (a slow pass makes
 * the next tick skip). A failed pass is reported and the next tick tries
 * again. `stop()` clears the timer and waits for a pass in flight.
 */
export function every(intervalMs: number, job: () => Promise<void>, onError: (e: Error) => void): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = job()
      .catch(onError)
      .finally(() => (running = undefined));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
