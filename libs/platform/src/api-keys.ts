import { Matches } from 'class-validator';

const KEY_PAIR = '[A-Za-z0-9_.-]{1,64}:[\\x21-\\x2b\\x2d-\\x7e]{8,256}';

/** Validates an `API_KEYS` variable: `tenant:key,...`, each key belonging to one tenant. */
export const IsApiKeys = () =>
  Matches(new RegExp(`^${KEY_PAIR}(,${KEY_PAIR})*$`), {
    message: 'must be tenant:key pairs separated by commas (keys of 8-256 printable characters, no commas)',
  });

/** Tenant by the full `Authorization` header value (`Bearer <key>`). */
export function tenantsByAuthorization(apiKeys: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const pair of apiKeys.split(',')) {
    const i = pair.indexOf(':');
    m.set(`Bearer ${pair.slice(i + 1)}`, pair.slice(0, i));
  }
  return m;
}
