/** The demo backend's one error: an HTTP status and the contract's error body. */
export class DemoError extends Error {
  constructor(readonly statusCode: number, readonly error: string, message: string, readonly details?: unknown) {
    super(message);
    this.name = 'DemoError';
  }

  get body(): { statusCode: number; error: string; message: string; details?: unknown } {
    return { statusCode: this.statusCode, error: this.error, message: this.message, ...(this.details !== undefined ? { details: this.details } : {}) };
  }
}
