import { defaultMetadataStorage } from 'class-transformer/cjs/storage';
import { getMetadataStorage, ValidationTypes } from 'class-validator';

/**
 * Text no field of any API or message may hold: C0 control characters
 * (U+0000-U+001F, so TAB, LF and CR too: every field is single-line), DEL,
 * and UTF-16 surrogates that are not part of a pair. PostgreSQL refuses NUL
 * and lone surrogates, and none of them is meaningful in a name, address, code
 * or token.
 */
const UNSAFE_TEXT = /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const UNSAFE_TEXT_MESSAGE = 'must not contain control characters or unpaired UTF-16 surrogates';

/** One sample of each kind of unsafe text, for tests. */
export const UNSAFE_TEXT_SAMPLES: Readonly<Record<string, string>> = {
  NUL: 'a\u0000b', 'lone high surrogate': 'a\ud800', 'lone low surrogate': '\udc00a', LF: 'a\nb', TAB: 'a\tb', DEL: 'a\u007f',
};

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

/**
 * Every leaf field of a validated class, as a path (`customer.name`,
 * `items.0.sku`), following nested classes (`@ValidateNested` + `@Type`).
 * Lets tests prove a rule for every field of every DTO and message, including
 * fields added later.
 */
export function fieldPaths(cls: Function, prefix = '', seen: Function[] = []): string[] {
  if (seen.includes(cls)) return [];
  const metas = getMetadataStorage().getTargetValidationMetadatas(cls, '', true, false);
  const props = [...new Set(metas.map((m) => m.propertyName))];
  return props.flatMap((prop) => {
    const path = prefix ? `${prefix}.${prop}` : prop;
    const nested = metas.find((m) => m.propertyName === prop && m.type === ValidationTypes.NESTED_VALIDATION);
    const type = defaultMetadataStorage.findTypeMetadata(cls, prop);
    if (!nested || !type) return [path];
    const child = type.typeFunction() as Function;
    return fieldPaths(child, nested.each ? `${path}.0` : path, [...seen, cls]);
  });
}

/**
 * Every class class-validator knows of in this process (every DTO, message
 * and config class whose module was loaded and that declares rules; a
 * subclass that only inherits its rules is covered through its base), for
 * tests that prove a rule for all of them, including classes added later.
 */
export function validatedClasses(): Function[] {
  const storage = getMetadataStorage() as unknown as { validationMetadatas: Map<Function, unknown> };
  return [...storage.validationMetadatas.keys()];
}

/** A plain object with `value` at `path` (objects and arrays created on the way). */
export function objectWith(path: string, value: unknown): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const parts = path.split('.');
  let at: Record<string, unknown> = root;
  parts.forEach((p, i) => {
    if (i === parts.length - 1) at[p] = value;
    else at = (at[p] = /^\d+$/.test(parts[i + 1]) ? [] : {}) as Record<string, unknown>;
  });
  return root;
}
