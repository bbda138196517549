import { escapeLiteral } from 'pg';

/** A value as an SQL literal (simple query protocol): NULL, a number, a boolean, a quoted string, or JSON as a quoted string. */
export function literal(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`not a finite number: ${v}`);
    return String(v);
  }
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (v instanceof Date) return escapeLiteral(v.toISOString()).trim();
  if (typeof v === 'string') return escapeLiteral(v).trim();
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) {
    return v.length === 0 ? `'{}'` : `ARRAY[${v.map(literal).join(', ')}]`;
  }
  return escapeLiteral(JSON.stringify(v)).trim();
}

/**
 * A parameterized statement with its parameters written in as literals, so
 * it can travel with others in one simple-protocol message. `$n` inside
 * quoted strings and quoted identifiers is left alone. `render` writes the
 * n-th value (default: `literal`).
 */
export function inlineParams(text: string, params: readonly unknown[] = [], render: (v: unknown, n: number) => string = literal): string {
  let out = '';
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      out += c;
      if (c === quote) quote = text[i + 1] === quote ? (out += text[++i], quote) : undefined;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      out += c;
      continue;
    }
    const m = c === '$' ? /^\$(\d+)/.exec(text.slice(i)) : null;
    if (!m) {
      out += c;
      continue;
    }
    const n = Number(m[1]);
    if (n < 1 || n > params.length) throw new Error(`no parameter $${n}`);
    out += render(params[n - 1], n);
    i += m[0].length - 1;
  }
  return out;
}

/**
 * A value as a literal for a parameter whose type is declared (EXECUTE of a
 * prepared statement): like `literal`, but an array is an array literal
 * (`'{"a",NULL}'`), untyped, so it becomes any declared array type (uuid[],
 * int[], …) without a cast, with NULL elements too.
 */
export function paramLiteral(v: unknown): string {
  if (!Array.isArray(v)) return literal(v);
  const element = (x: unknown): string => {
    if (x === null || x === undefined) return 'NULL';
    const s = x instanceof Date ? x.toISOString() : typeof x === 'object' ? JSON.stringify(x) : String(x);
    return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  };
  return escapeLiteral(`{${v.map(element).join(',')}}`).trim();
}
