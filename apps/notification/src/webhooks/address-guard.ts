import { isIP } from 'node:net';
import { abortable, hostResolver, Resolver } from './resolver';

/**
 * The SSRF guard of webhook URLs: every address a host resolves to is
 * classified; loopback, private, unspecified, multicast and reserved
 * addresses are refused unless the policy allows them; link-local and the
 * cloud metadata services (METADATA_ADDRESSES) are refused whatever the
 * policy says. An IPv6 address carrying an IPv4 one (mapped, NAT64, 6to4)
 * is judged as the IPv4 address it leads to.
 */

export type AddressKind = 'public' | 'loopback' | 'private' | 'link-local' | 'metadata' | 'unspecified' | 'multicast' | 'reserved';

export interface Cidr {
  version: 4 | 6;
  bytes: Uint8Array;
  prefix: number;
}

export interface AddressPolicy {
  allowLoopback: boolean;
  /** Non-public ranges that are allowed anyway (never link-local nor a metadata address). */
  allowNetworks: Cidr[];
}

export type Verdict = { ok: true; kind: AddressKind; allowListed: boolean } | { ok: false; kind: AddressKind; reason: string };

/** 4 or 16 bytes of an IP address in text form; throws on anything else. */
export function ipBytes(ip: string): Uint8Array {
  const v = isIP(ip);
  if (v === 4) return Uint8Array.from(ip.split('.').map(Number));
  if (v !== 6) throw new Error(`not an IP address: ${ip}`);
  let text = ip.split('%')[0];
  // a trailing dotted quad (::ffff:1.2.3.4) stands for the last two groups
  text = text.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a, b, c, d) =>
    `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`);
  const out = new Uint8Array(16);
  const parse = (s: string) => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const hs = parse(head);
  const ts = tail === undefined ? [] : parse(tail);
  const groups = tail === undefined ? hs : [...hs, ...new Array<number>(8 - hs.length - ts.length).fill(0), ...ts];
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

export function parseCidr(text: string): Cidr {
  const [addr, bits] = text.trim().split('/');
  const bytes = ipBytes(addr);
  const prefix = Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bytes.length * 8) throw new Error(`bad prefix length in ${text}`);
  return { version: bytes.length === 4 ? 4 : 6, bytes, prefix };
}

function inCidr(bytes: Uint8Array, c: Cidr): boolean {
  if (bytes.length !== c.bytes.length) return false;
  for (let bit = 0; bit < c.prefix; bit++) {
    const i = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if ((bytes[i] & mask) !== (c.bytes[i] & mask)) return false;
  }
  return true;
}

/**
 * Cloud metadata and credential services (AWS IMDS and EKS Pod Identity on
 * IPv4 and IPv6, ECS task metadata, GCP's IPv6 metadata server, Alibaba,
 * Oracle Cloud Classic, Azure's WireServer). Never reachable: an operator who
 * allows `fd00::/8` or `100.64.0.0/10` for their own services still cannot
 * point a webhook at these. (All of 169.254.0.0/16 is refused as link-local
 * anyway.)
 */
export const METADATA_ADDRESSES = [
  '169.254.169.254', '169.254.170.2', '169.254.170.23', 'fd00:ec2::254', 'fd00:ec2::23', 'fd20:ce::254',
  '100.100.100.200', '192.0.0.192', '168.63.129.16',
] as const;

/** First match wins: link-local and metadata come first, so nothing else names them. */
const RANGES: Array<[AddressKind, Cidr]> = (
  [
    ['link-local', '169.254.0.0/16'],
    ['link-local', 'fe80::/10'],
    ...METADATA_ADDRESSES.map((ip): [AddressKind, string] => ['metadata', `${ip}/${ip.includes(':') ? 128 : 32}`]),
    ['unspecified', '0.0.0.0/8'],
    ['loopback', '127.0.0.0/8'],
    ['private', '10.0.0.0/8'],
    ['private', '172.16.0.0/12'],
    ['private', '192.168.0.0/16'],
    ['private', '100.64.0.0/10'],
    ['reserved', '192.0.0.0/24'], // IETF protocol assignments
    ['reserved', '192.0.2.0/24'], // documentation (TEST-NET-1..3)
    ['reserved', '198.51.100.0/24'],
    ['reserved', '203.0.113.0/24'],
    ['reserved', '198.18.0.0/15'], // benchmarking
    ['multicast', '224.0.0.0/4'],
    ['reserved', '240.0.0.0/4'],
    ['unspecified', '::/128'],
    ['loopback', '::1/128'],
    ['private', 'fc00::/7'],
    ['private', 'fec0::/10'],
    ['private', '64:ff9b:1::/48'], // local-use NAT64: translated by the operator's own gateway
    ['reserved', '2001::/32'], // Teredo: the client IPv4 it leads to is obfuscated
    ['reserved', '2001:db8::/32'], // documentation
    ['reserved', '100::/64'], // discard-only
    ['multicast', 'ff00::/8'],
  ] as Array<[AddressKind, string]>
).map(([k, c]) => [k, parseCidr(c)]);

const kindOfBytes = (b: Uint8Array): AddressKind => RANGES.find(([, c]) => inCidr(b, c))?.[0] ?? 'public';

interface Carried {
  /** The one IPv4 address this IPv6 address stands for: mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::a.b.c.d, 6to4 2002:aabb:ccdd::. */
  v4?: Uint8Array;
  /** Every IPv4 address it may lead to (v4, or for local-use NAT64 each RFC 6052 layout its operator may use). */
  reach: Uint8Array[];
}

function carried(b: Uint8Array): Carried {
  if (b.length !== 16) return { reach: [] };
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const pick = (...at: number[]) => Uint8Array.from(at.map((i) => b[i]));
  const one = (v4: Uint8Array): Carried => ({ v4, reach: [v4] });
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return one(pick(12, 13, 14, 15));
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) {
    if (zeros(4, 12)) return one(pick(12, 13, 14, 15));
    // 64:ff9b:1::/48, prefixes /48, /56, /64 and /96 (RFC 6052 section 2.2)
    if (b[4] === 0x00 && b[5] === 0x01) return { reach: [pick(6, 7, 9, 10), pick(7, 9, 10, 11), pick(9, 10, 11, 12), pick(12, 13, 14, 15)] };
  }
  if (b[0] === 0x20 && b[1] === 0x02) return one(pick(2, 3, 4, 5));
  if (zeros(0, 12) && !zeros(12, 14)) return one(pick(12, 13, 14, 15)); // ::a.b.c.d, but not :: or ::1
  return { reach: [] };
}

/** Never allowed, whatever the policy: link-local (all of it) and the metadata services. */
const NEVER: ReadonlySet<AddressKind> = new Set<AddressKind>(['link-local', 'metadata']);

export function classify(ip: string): AddressKind {
  const b = ipBytes(ip);
  const c = carried(b);
  for (const v4 of c.reach) {
    const k = kindOfBytes(v4);
    if (NEVER.has(k)) return k;
  }
  return kindOfBytes(c.v4 ?? b);
}

/** Whether one resolved address may be called. */
export function judge(ip: string, policy: AddressPolicy): Verdict {
  const kind = classify(ip);
  if (kind === 'metadata') return { ok: false, kind, reason: `${ip} is a cloud metadata address (never allowed)` };
  if (kind === 'link-local') return { ok: false, kind, reason: `${ip} is a link-local address (never allowed)` };
  if (kind === 'public') return { ok: true, kind, allowListed: false };
  if (kind === 'loopback' && policy.allowLoopback) return { ok: true, kind, allowListed: true };
  const b = ipBytes(ip);
  const v4 = carried(b).v4;
  if (policy.allowNetworks.some((c) => inCidr(b, c) || (v4 !== undefined && inCidr(v4, c)))) return { ok: true, kind, allowListed: true };
  return { ok: false, kind, reason: `${ip} is a ${kind} address (not allowed)` };
}

export interface ResolvedTarget {
  /** Addresses the request may connect to (all of the host's addresses passed). */
  addresses: Array<{ address: string; family: 4 | 6 }>;
  /** True when some address is non-public and was let through by the allow-list (plain http is allowed then). */
  allowListed: boolean;
}

export class AddressRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AddressRefused';
  }
}

const systemResolver = hostResolver();

/**
 * Resolves the URL's host (all addresses) and judges each; any refused
 * address refuses the URL (so a name cannot mix a public and a private one).
 * Plain http is only for allow-listed (development or private) targets.
 * A lookup still going when `signal` aborts is refused as not resolving in time.
 */
export async function resolveTarget(
  url: URL,
  policy: AddressPolicy,
  { resolve = systemResolver, signal }: { resolve?: Resolver; signal?: AbortSignal } = {},
): Promise<ResolvedTarget> {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AddressRefused(`${url.protocol} is not allowed: use https`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let found: Array<{ address: string; family: number }>;
  if (isIP(host)) found = [{ address: host, family: isIP(host) }];
  else {
    try {
      found = await abortable(resolve(host, signal), signal);
    } catch (e) {
      if (signal?.aborted) throw new AddressRefused(`${host} did not resolve in time`);
      throw new AddressRefused(`${host} does not resolve (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    if (found.length === 0) throw new AddressRefused(`${host} does not resolve`);
  }
  let allowListed = false;
  for (const a of found) {
    const v = judge(a.address, policy);
    if (!v.ok) throw new AddressRefused(`${host} resolves to ${v.reason}`);
    allowListed ||= v.allowListed;
  }
  if (url.protocol === 'http:' && !allowListed) throw new AddressRefused('plain http is only allowed for allow-listed private or loopback hosts: use https');
  return { addresses: found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 })), allowListed };
}
