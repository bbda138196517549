import { BadRequestException } from '@nestjs/common';
import { fieldPaths, objectWith, UNSAFE_TEXT_SAMPLES, validatedClasses } from '@orders/contracts';
import { BaseEnv } from './config';
import { strictValidationPipe } from './http-errors';

/**
 * Self-check of the HTTP validation: for every field of every request class
 * loaded in this process (configuration classes aside), sends each kind of
 * unsafe text through the platform's validation pipe and returns what was NOT
 * answered by a 400 naming that field (`Class field: sample`). Empty means
 * every text field of every API refuses control characters and unpaired
 * surrogates. Each app's tests call it after loading its module.
 */
export async function fieldsAcceptingUnsafeText(): Promise<{ checked: string[]; accepted: string[] }> {
  const pipe = strictValidationPipe();
  const checked: string[] = [];
  const accepted: string[] = [];
  for (const cls of validatedClasses()) {
    if (cls.prototype instanceof BaseEnv || cls === BaseEnv) continue;
    for (const path of fieldPaths(cls)) {
      checked.push(`${cls.name} ${path}`);
      for (const [what, sample] of Object.entries(UNSAFE_TEXT_SAMPLES)) {
        const named = await pipe.transform(objectWith(path, sample), { type: 'body', metatype: cls as new () => object }).then(
          () => false,
          (e: unknown) => e instanceof BadRequestException && JSON.stringify(e.getResponse()).includes(`"field":${JSON.stringify(path)}`),
        );
        if (!named) accepted.push(`${cls.name} ${path}: ${what}`);
      }
    }
  }
  return { checked, accepted };
}
