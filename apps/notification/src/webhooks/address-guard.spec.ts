import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressPolicy, classify, ipBytes, judge, parseCidr, resolveTarget } from './address-guard';

const closed: AddressPolicy = { allowLoopback: false, allowNetworks: [] };
const dev: AddressPolicy = { allowLoopback: true, allowNetworks: [] };

test('addresses are classified by range, IPv4 and IPv6', () => {
  const cases: Array<[string, string]> = [
    ['93.184.216.34', 'public'], ['8.8.8.8', 'public'], ['2606:4700::1111', 'public'],
    ['127.0.0.1', 'loopback'], ['127.9.9.9', 'loopback'], ['::1', 'loopback'],
    ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['192.168.1.1', 'private'],
    ['172.32.0.1', 'public'], ['fd12:3456::1', 'private'], ['fc00::1', 'private'],
    ['169.254.169.254', 'link-local'], ['169.254.0.1', 'link-local'], ['fe80::1', 'link-local'], ['febf::1', 'link-local'],
    ['0.0.0.0', 'unspecified'], ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'], ['239.255.255.250', 'multicast'], ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
  ];
  for (const [ip, kind] of cases) assert.equal(classify(ip), kind, ip);
});

test('IPv4 carried in IPv6 is judged as the IPv4 address it carries', () => {
  assert.equal(classify('::ffff:127.0.0.1'), 'loopback');
  assert.equal(classify('::ffff:7f00:1'), 'loopback'); // the same, in the hex form URL parsers produce
  assert.equal(classify('::ffff:169.254.169.254'), 'link-local');
  assert.equal(classify('::ffff:a9fe:a9fe'), 'link-local');
  assert.equal(classify('::ffff:10.0.0.1'), 'private');
  assert.equal(classify('64:ff9b::192.168.0.1'), 'private');
  assert.equal(classify('::ffff:8.8.8.8'), 'public');
  assert.deepEqual([...ipBytes('::ffff:1.2.3.4')], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4]);
  assert.deepEqual([...ipBytes('1:2::8')], [0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8]);
});

test('by default only public addresses pass', () => {
  assert.equal(judge('93.184.216.34', closed).ok, true);
  for (const ip of ['127.0.0.1', '::1', '10.0.0.1', '192.168.0.10', 'fd00::5', '0.0.0.0', '224.0.0.1', '169.254.169.254', '::ffff:127.0.0.1']) {
    assert.equal(judge(ip, closed).ok, false, ip);
  }
});

test('the loopback switch allows loopback only; the allow-list allows its ranges; link-local never', () => {
  assert.equal(judge('127.0.0.1', dev).ok, true);
  assert.equal(judge('::1', dev).ok, true);
  assert.equal(judge('::ffff:127.0.0.1', dev).ok, true);
  assert.equal(judge('10.0.0.1', dev).ok, false);
  const lan: AddressPolicy = { allowLoopback: false, allowNetworks: [parseCidr('10.20.0.0/16'), parseCidr('fd00::/8'), parseCidr('169.254.0.0/16')] };
  assert.equal(judge('10.20.3.4', lan).ok, true);
  assert.equal(judge('::ffff:10.20.3.4', lan).ok, true);
  assert.equal(judge('10.21.0.1', lan).ok, false);
  assert.equal(judge('fd00::1', lan).ok, true);
  assert.equal(judge('127.0.0.1', lan).ok, false);
  // even when listed, link-local and cloud metadata are refused
  const v = judge('169.254.169.254', lan);
  assert.equal(v.ok, false);
  assert.match(!v.ok ? v.reason : '', /link-local/);
  assert.equal(judge('fe80::1', { allowLoopback: true, allowNetworks: [parseCidr('fe80::/10')] }).ok, false);
});

test('bad CIDRs are rejected', () => {
  assert.throws(() => parseCidr('10.0.0.0/33'));
  assert.throws(() => parseCidr('10.0.0/8'));
  assert.throws(() => parseCidr('fd00::/129'));
  assert.equal(parseCidr('fd00::/8').prefix, 8);
});

test('a URL is refused when any address of its host is refused; plain http only for allow-listed hosts', async () => {
  const resolver = (answers: Record<string, string[]>) => async (host: string) => {
    const a = answers[host];
    if (!a) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return a.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  const r = resolver({ 'hooks.example.com': ['93.184.216.34'], 'mixed.example.com': ['93.184.216.34', '10.0.0.1'], localhost: ['127.0.0.1', '::1'] });
  assert.deepEqual((await resolveTarget(new URL('https://hooks.example.com/x'), closed, { resolve: r })).addresses, [{ address: '93.184.216.34', family: 4 }]);
  await assert.rejects(resolveTarget(new URL('https://mixed.example.com/x'), closed, { resolve: r }), /10\.0\.0\.1 is a private address/);
  await assert.rejects(resolveTarget(new URL('http://hooks.example.com/x'), closed, { resolve: r }), /use https/);
  await assert.rejects(resolveTarget(new URL('https://nowhere.example.com/x'), closed, { resolve: r }), /does not resolve \(ENOTFOUND\)/);
  await assert.rejects(resolveTarget(new URL('http://localhost:8080/x'), closed, { resolve: r }), /loopback/);
  assert.equal((await resolveTarget(new URL('http://localhost:8080/x'), dev, { resolve: r })).allowListed, true);
  await assert.rejects(resolveTarget(new URL('http://169.254.169.254/latest/meta-data'), dev, { resolve: r }), /link-local/);
  await assert.rejects(resolveTarget(new URL('http://[::ffff:169.254.169.254]/'), dev, { resolve: r }), /link-local/);
  await assert.rejects(resolveTarget(new URL('ftp://hooks.example.com/'), dev, { resolve: r }), /use https/);
});

test('benchmarking, IETF-assignment, documentation, 6to4, NAT64 and Teredo addresses are not public', () => {
  const cases: Array<[string, string]> = [
    ['198.18.0.1', 'reserved'], ['198.19.255.255', 'reserved'], ['198.17.255.255', 'public'], ['198.20.0.1', 'public'],
    ['192.0.0.1', 'reserved'], ['192.0.0.255', 'reserved'], ['192.0.1.1', 'public'],
    ['192.0.2.10', 'reserved'], ['198.51.100.7', 'reserved'], ['203.0.113.9', 'reserved'], ['2001:db8::1', 'reserved'],
    // 6to4 is judged by the IPv4 address it carries
    ['2002:7f00:1::', 'loopback'], ['2002:a9fe:a9fe::1', 'link-local'], ['2002:a00:1::', 'private'], ['2002:c612:1::', 'reserved'],
    ['2002:808:808::1', 'public'],
    // NAT64: the well-known prefix carries its IPv4 in the last 32 bits; the local-use prefix is not globally reachable
    ['64:ff9b::7f00:1', 'loopback'], ['64:ff9b::a9fe:a9fe', 'link-local'], ['64:ff9b::c612:1', 'reserved'], ['64:ff9b::808:808', 'public'],
    ['64:ff9b:1::1', 'private'], ['64:ff9b:1:ffff::8.8.8.8', 'private'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'], // Teredo: its client address is obfuscated
  ];
  for (const [ip, kind] of cases) assert.equal(classify(ip), kind, ip);
  for (const ip of ['198.18.0.1', '192.0.0.8', '2002:7f00:1::', '2002:a00:1::', '64:ff9b:1::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2']) {
    assert.equal(judge(ip, closed).ok, false, ip);
  }
});

test('cloud metadata addresses are never reachable, whatever the allow-list says', () => {
  const open: AddressPolicy = {
    allowLoopback: true,
    allowNetworks: ['fd00::/8', 'fc00::/7', '100.64.0.0/10', '192.0.0.0/24', '64:ff9b:1::/48', '169.254.0.0/16', '0.0.0.0/0', '::/0'].map(parseCidr),
  };
  const metadata = [
    '169.254.169.254', 'fd00:ec2::254', 'fd00:ec2::23', 'fd20:ce::254', '100.100.100.200', '192.0.0.192', '168.63.129.16', '169.254.170.2',
    '::ffff:100.100.100.200', '::ffff:6464:64c8', '64:ff9b::100.100.100.200', '2002:6464:64c8::1', '::ffff:168.63.129.16',
    // local-use NAT64 (RFC 6052 /48 and /96 layouts) towards the metadata service
    '64:ff9b:1:a9fe:a9:fe00::', '64:ff9b:1::a9fe:a9fe',
  ];
  for (const ip of metadata) {
    const v = judge(ip, open);
    assert.equal(v.ok, false, ip);
    assert.match(!v.ok ? v.reason : '', /metadata|link-local/, ip);
  }
  assert.match((judge('fd00:ec2::254', open) as { reason: string }).reason, /fd00:ec2::254 is a cloud metadata address \(never allowed\)/);
  // their neighbours in the allow-listed ranges still pass
  for (const ip of ['fd00:ec2::253', 'fd00::1', '100.100.100.201', '100.64.0.1', '192.0.0.193', '64:ff9b:1::1']) assert.equal(judge(ip, open).ok, true, ip);
  assert.equal(judge('168.63.129.16', closed).ok, false, 'a public-looking metadata address too');
});

test('a name resolving to a metadata address is refused even when its private range is allowed', async () => {
  const r = async () => [{ address: 'fd00:ec2::254', family: 6 }];
  const policy: AddressPolicy = { allowLoopback: false, allowNetworks: [parseCidr('fd00::/8')] };
  await assert.rejects(resolveTarget(new URL('http://imds.internal/latest/meta-data/'), policy, { resolve: r }), /imds\.internal resolves to fd00:ec2::254 is a cloud metadata address/);
});
