import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Answer, Authorization } from './authorizations.service';

/** One journal line: an authorization as it now stands, or the answer given to an idempotency key. */
export type JournalEntry = { t: 'auth'; a: Authorization } | { t: 'answer'; k: string; s: number; b: object };

/**
 * The simulator's memory across restarts, like a real gateway's database: an
 * append-only JSON-lines file, replayed in order on start. Lines are appended
 * synchronously before the HTTP answer leaves, so a `kill -9` after an answer
 * never forgets it (no fsync: a process crash, not a power cut, is what the
 * simulator survives). A torn last line (crash mid-write) is skipped.
 */
export class Journal {
  constructor(private readonly file: string | null) {
    if (file) mkdirSync(dirname(file), { recursive: true });
  }

  replay(apply: (e: JournalEntry) => void): number {
    if (!this.file || !existsSync(this.file)) return 0;
    const text = readFileSync(this.file, 'utf8');
    // a line torn by a crash must not swallow the next append
    if (text && !text.endsWith('\n')) appendFileSync(this.file, '\n');
    let n = 0;
    for (const line of text.split('\n')) {
      if (!line) continue;
      let e: JournalEntry;
      try {
        e = JSON.parse(line) as JournalEntry;
      } catch {
        continue;
      }
      apply(e);
      n++;
    }
    return n;
  }

  append(e: JournalEntry): void {
    if (this.file) appendFileSync(this.file, `${JSON.stringify(e)}\n`);
  }

  static answer(k: string, a: Answer): JournalEntry {
    return { t: 'answer', k, s: a.status, b: a.body };
  }
}
