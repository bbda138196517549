import { BadRequestException, PipeTransform } from '@nestjs/common';
import { defaultMetadataStorage } from 'class-transformer/cjs/storage';
import { getMetadataStorage, ValidationTypes } from 'class-validator';

/**
 * Proving the text rule (no control characters, no unpaired surrogates) for
 * every field of every class: test helpers only, never in a production build.
 */

/** One sample of each kind of unsafe text. */
export const UNSAFE_TEXT_SAMPLES: Readonly<Record<string, string>> = {
  NUL: 'a\u0000b', 'lone high surrogate': 'a\ud800', 'lone low surrogate': '\udc00a', LF: 'a\nb', TAB: 'a\tb', DEL: 'a\u007f',
};

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

/**
 * Self-check of an HTTP validation pipe: for every field of every class
 * class-validator knows in this process (but those `skip` says), sends each
 * kind of unsafe text through `pipe` and returns what was NOT answered by a
 * 400 naming that field (`Class field: sample`). Empty means every text field
 * of every API refuses it. Each app's tests call it after loading its module.
 */
export async function fieldsAcceptingUnsafeText(pipe: PipeTransform, skip: (cls: Function) => boolean): Promise<{ checked: string[]; accepted: string[] }> {
  const checked: string[] = [];
  const accepted: string[] = [];
  for (const cls of validatedClasses()) {
    if (skip(cls)) continue;
    for (const path of fieldPaths(cls)) {
      checked.push(`${cls.name} ${path}`);
      for (const [what, sample] of Object.entries(UNSAFE_TEXT_SAMPLES)) {
        const named = await Promise.resolve(pipe.transform(objectWith(path, sample), { type: 'body', metatype: cls as new () => object })).then(
          () => false,
          (e: unknown) => e instanceof BadRequestException && JSON.stringify(e.getResponse()).includes(`"field":${JSON.stringify(path)}`),
        );
        if (!named) accepted.push(`${cls.name} ${path}: ${what}`);
      }
    }
  }
  return { checked, accepted };
}
