import { lookup, Resolver as DnsResolver } from 'node:dns/promises';

/** A host's addresses; gives up (rejects) once `signal` aborts. */
export type Resolver = (host: string, signal?: AbortSignal) => Promise<Array<{ address: string; family: number }>>;

/** How long c-ares waits for one answer before it asks again (or the next server), and how often it asks; the deadline cuts it shorter. */
const QUERY_TIMEOUT_MS = 1000;
const QUERY_TRIES = 3;

/** Answers meaning "DNS has no such name": the system's own lookup (hosts file, search domains) gets a turn. Not a timeout nor SERVFAIL. */
const NOT_IN_DNS = new Set(['ENOTFOUND', 'ENODATA', 'ECONNREFUSED', 'EREFUSED', 'EBADNAME', 'ENONAME']);

const codeOf = (e: unknown) => (e as NodeJS.ErrnoException).code ?? 'EUNKNOWN';

/** `p`, or the abort reason as soon as `signal` aborts (the work behind `p` is left to finish on its own). */
export function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Resolves webhook hosts without the libuv thread pool: A and AAAA are asked
 * of DNS through c-ares (asynchronous, cancelled when `signal` aborts), so a
 * tenant's name whose DNS never answers holds no thread that another
 * tenant's lookup (or the process's file and crypto work) waits behind. Only
 * a name DNS says does not exist is then looked up the system's way
 * (getaddrinfo: the hosts file, `localhost`, search domains), still bounded
 * by the signal. `servers` (host:port) replaces the system's DNS servers.
 */
export function hostResolver(servers?: string[]): Resolver {
  return async (host, signal) => {
    const dns = new DnsResolver({ timeout: QUERY_TIMEOUT_MS, tries: QUERY_TRIES });
    if (servers) dns.setServers(servers);
    const cancel = () => dns.cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      const [v4, v6] = await Promise.allSettled([dns.resolve4(host), dns.resolve6(host)]);
      signal?.throwIfAborted();
      const found = [
        ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 })) : []),
        ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 })) : []),
      ];
      if (found.length > 0) return found;
      const failures = [v4, v6].flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
      const fatal = failures.find((e) => !NOT_IN_DNS.has(codeOf(e)));
      if (fatal) throw fatal;
      return await abortable(lookup(host, { all: true, verbatim: true }), signal);
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
  };
}
