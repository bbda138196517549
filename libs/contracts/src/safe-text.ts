/**
 * Text no field of any API or message may hold: C0 control characters
 * (U+0000-U+001F, so TAB, LF and CR too: every field is single-line), DEL,
 * and UTF-16 surrogates that are not part of a pair. PostgreSQL refuses NUL
 * and lone surrogates, and none of them is meaningful in a name, address, code
 * or token.
 */
const UNSAFE_TEXT = /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const UNSAFE_TEXT_MESSAGE = 'must not contain control characters or unpaired UTF-16 surrogates';

export const isSafeText = (s: string): boolean => !UNSAFE_TEXT.test(s);

/**
 * The path (`a.b.0.c`, as validation errors name fields) of every string
 * anywhere in `value` that is not safe text; `root` names a bare string.
 * Iterative, so a deeply nested hostile body cannot overflow the stack.
 */
export function unsafeTextPaths(value: unknown, root = ''): string[] {
  const out: string[] = [];
  const stack: Array<[unknown, string]> = [[value, root]];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (!isSafeText(v)) out.push(path);
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push([item, path ? `${path}.${i}` : String(i)]));
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, item] of Object.entries(v)) stack.push([item, path ? `${path}.${k}` : k]);
    }
  }
  return out.sort();
}
