// getaddrinfo and getnameinfo through FFI (lib/requests/lookup.ts), the calls a pool thread makes,
// checked against Node's dns module, which asks the same libc through libuv.
import test from 'ava';
import dns from 'node:dns';
import { domainToASCII } from 'node:url';
import { Worker } from 'node:worker_threads';
import { bindFfiRs } from '../ffi/ffi-rs.js';
import { bindKoffi } from '../ffi/koffi.js';
import {
  ADDRINFO, AF_INET, AI_NUMERICHOST, AI_NUMERICSERV, EAI_INTR, EAI_NONAME, EAI_SYSTEM, ENOENT, NI_NAMEREQD, NI_NUMERICHOST,
  NI_NUMERICSERV, POINTER_SIZE, SOCK_STREAM, type Libc,
} from '../ffi/libc.js';
import { errnoOf } from '../lib/errors.js';
import { eaiCode, lookup, nameinfo, toAscii, type Address } from '../lib/requests/lookup.js';
import { specLibc } from './support.js';

type NodeResult<T> = { err: NodeJS.ErrnoException } | { value: T };

function nodeLookup(name: string, family: 0 | 4 | 6): Promise<NodeResult<dns.LookupAddress[]>> {
  return new Promise((resolve) => {
    dns.lookup(name, { all: true, family, verbatim: true }, (err, value) => resolve(err ? { err } : { value }));
  });
}

function nodeLookupService(address: string, port: number): Promise<NodeResult<{ host: string; service: string }>> {
  return new Promise((resolve) => {
    dns.lookupService(address, port, (err, host, service) => resolve(err ? { err } : { value: { host, service } }));
  });
}

/** Our result and Node's agree: the same addresses in the same order, or the same errno. */
function sameAsNode(ours: Address[] | string, node: NodeResult<dns.LookupAddress[]>): { ours: unknown; node: unknown } {
  return {
    ours: typeof ours === 'string' ? errnoOf(ours) : ours.map(({ address, family }) => ({ address, family })),
    node: 'err' in node ? node.err.errno : node.value,
  };
}

test('localhost resolves as Node resolves it, in the same order, through the same libc', async (t) => {
  const libc = specLibc();
  const ours = lookup(libc, 'localhost', null, 0, 'stream', 0);
  const { ours: mine, node } = sameAsNode(ours, await nodeLookup('localhost', 0));
  t.deepEqual(mine, node);
  t.true(Array.isArray(ours), 'localhost resolves');
  const addresses = (ours as Address[]).map((a) => a.address);
  t.true(addresses.includes('127.0.0.1') || addresses.includes('::1'), addresses.join());
  for (const a of ours as Address[]) {
    t.is(a.socktype, 'stream');
    t.is(a.port, 0, 'no service, port 0');
    t.is(a.family, a.address.includes(':') ? 6 : 4);
  }
});

test('a family hint filters, and agrees with Node for each family', async (t) => {
  const libc = specLibc();
  const v4 = lookup(libc, 'localhost', null, 4, 'stream', 0);
  t.true(Array.isArray(v4) && v4.length > 0 && v4.every((a) => a.family === 4));
  t.true((v4 as Address[]).some((a) => a.address === '127.0.0.1'));
  for (const family of [4, 6] as const) {
    const { ours, node } = sameAsNode(lookup(libc, 'localhost', null, family, 'stream', 0), await nodeLookup('localhost', family));
    t.deepEqual(ours, node, `family ${family}`);
  }
  const v6 = lookup(libc, '::1', null, 6, 'stream', AI_NUMERICHOST);
  t.deepEqual(v6, [{ family: 6, address: '::1', port: 0, socktype: 'stream' }]);
});

test('a service gives its port, in network order decoded', (t) => {
  const libc = specLibc();
  const http = lookup(libc, 'localhost', '80', 4, 'stream', 0);
  t.true(Array.isArray(http) && http.length > 0);
  for (const a of http as Address[]) t.is(a.port, 80);
  // 0x1234 tells a byte-swapped port (0x3412) from the right one.
  t.deepEqual(lookup(libc, '127.0.0.1', '4660', 4, 'dgram', AI_NUMERICHOST | AI_NUMERICSERV),
    [{ family: 4, address: '127.0.0.1', port: 0x1234, socktype: 'dgram' }]);
  t.deepEqual(lookup(libc, '::1', '65535', 6, 'stream', AI_NUMERICHOST),
    [{ family: 6, address: '::1', port: 65535, socktype: 'stream' }]);
});

test('without a socktype hint every address comes once per socket type, undeduplicated; a hint filters', (t) => {
  const libc = specLibc();
  const all = lookup(libc, '127.0.0.1', '7', 4, null, AI_NUMERICHOST);
  t.true(Array.isArray(all));
  const types = (all as Address[]).map((a) => a.socktype);
  t.true(types.includes('stream') && types.includes('dgram'), types.join());
  t.true((all as Address[]).every((a) => a.address === '127.0.0.1' && a.port === 7));
  t.deepEqual(lookup(libc, '127.0.0.1', '7', 4, 'dgram', AI_NUMERICHOST), [{ family: 4, address: '127.0.0.1', port: 7, socktype: 'dgram' }]);
  t.deepEqual(lookup(libc, '127.0.0.1', '7', 4, 'stream', AI_NUMERICHOST), [{ family: 4, address: '127.0.0.1', port: 7, socktype: 'stream' }]);
});

test('a name that cannot exist fails as it does for Node', async (t) => {
  const libc = specLibc();
  const ours = lookup(libc, 'nonexistent.invalid', null, 0, 'stream', 0);
  t.is(typeof ours, 'string');
  const node = await nodeLookup('nonexistent.invalid', 0);
  t.true('err' in node);
  t.is(errnoOf(ours as string), 'err' in node ? node.err.errno ?? 0 : 0, `ours ${String(ours)}`);
  // With a resolver this is EAI_NONAME (Node calls it ENOTFOUND; the errno is libuv's EAI_NONAME).
  if (ours === 'EAI_NONAME') t.is(errnoOf('EAI_NONAME'), -3008);
  t.is(lookup(libc, 'localhost', null, 0, null, AI_NUMERICHOST), 'EAI_NONAME', 'not numeric, and lookups are forbidden');
});

test('hints libc refuses come back as libuv names them', (t) => {
  const libc = specLibc();
  t.is(lookup(libc, 'localhost', null, 5 as 0, null, 0), 'EAI_FAMILY');
  t.is(lookup(libc, 'localhost', null, 0, 'seqpacket' as 'stream', 0), 'EAI_SOCKTYPE');
  t.is(lookup(libc, 'localhost', null, 0, null, 0x10000), 'EAI_BADFLAGS');
  t.is(lookup(libc, 'localhost', 'no-such-service-uvts', 0, 'stream', 0), 'EAI_SERVICE');
  t.is(lookup(libc, '127.0.0.1', 'http', 4, 'stream', AI_NUMERICHOST | AI_NUMERICSERV), 'EAI_NONAME');
});

test('names are checked before they reach C: empty or over-long is EINVAL, NUL a TypeError', (t) => {
  const libc = specLibc();
  t.is(lookup(libc, '', '80', 0, null, 0), 'EINVAL', 'libuv refuses an empty host name');
  t.is(lookup(libc, 'a'.repeat(256), null, 0, null, 0), 'EINVAL', '256 bytes do not fit with the NUL');
  t.is(lookup(libc, '\ud800.example', null, 0, null, 0), 'EINVAL', 'a lone surrogate is not UTF-8');
  t.throws(() => lookup(libc, 'local\0host', null, 0, null, 0), { instanceOf: TypeError });
  t.throws(() => lookup(libc, 'localhost', '8\0', 0, null, 0), { instanceOf: TypeError });
  t.throws(() => lookup(libc, 'localhost', null, 0, null, 1.5), { instanceOf: TypeError });
});

test('non-ASCII names become IDNA labels as libuv encodes them', (t) => {
  for (const name of ['bücher.example', '日本語.jp', 'mañana.com', 'παράδειγμα.δοκιμή', 'a.ü.b']) {
    t.is(toAscii(name), domainToASCII(name), name);
  }
  t.is(toAscii('日本語。jp'), domainToASCII('日本語.jp'), 'ideographic full stop separates labels');
  t.is(toAscii('Example.COM.'), 'Example.COM.', 'ASCII is left as written');
  t.is(toAscii('a'.repeat(255)), 'a'.repeat(255));
  t.deepEqual(toAscii('a'.repeat(256)), { code: 'EINVAL' });
  t.deepEqual(toAscii(''), { code: 'EINVAL' });
});

test('getnameinfo agrees with dns.lookupService, and numeric flags give the literal back', async (t) => {
  const libc = specLibc();
  // Node's lookupService asks libuv with NI_NAMEREQD: an address without a name is an error.
  const ours = nameinfo(libc, '127.0.0.1', 22, NI_NAMEREQD);
  const node = await nodeLookupService('127.0.0.1', 22);
  t.deepEqual(typeof ours === 'string' ? errnoOf(ours) : ours, 'err' in node ? node.err.errno : node.value);
  t.deepEqual(nameinfo(libc, '127.0.0.1', 0x1234, NI_NUMERICHOST | NI_NUMERICSERV), { host: '127.0.0.1', service: '4660' });
  t.deepEqual(nameinfo(libc, '::1', 65535, NI_NUMERICHOST | NI_NUMERICSERV), { host: '::1', service: '65535' });
  // Without NI_NAMEREQD an address with no name comes back as its literal.
  const plain = nameinfo(libc, '::1', 80, 0);
  t.true(typeof plain !== 'string' && plain.host.length > 0 && plain.service.length > 0);
  const v6 = nameinfo(libc, '::1', 80, NI_NAMEREQD);
  const node6 = await nodeLookupService('::1', 80);
  t.deepEqual(typeof v6 === 'string' ? errnoOf(v6) : v6, 'err' in node6 ? node6.err.errno : node6.value);
});

test('getnameinfo refuses what is not an IP literal and checks port and flags', (t) => {
  const libc = specLibc();
  t.is(nameinfo(libc, 'localhost', 80, 0), 'EINVAL');
  t.is(nameinfo(libc, 'fe80::1%lo', 80, 0), 'EINVAL');
  t.throws(() => nameinfo(libc, '127.0.0.1', 65536, 0), { instanceOf: RangeError });
  t.throws(() => nameinfo(libc, '127.0.0.1', 80, 2 ** 32), { instanceOf: TypeError });
});

test('EAI_* values map to libuv codes Node knows; EAI_SYSTEM to the errno libc left', (t) => {
  const fake = { errno: () => ENOENT } as unknown as Libc;
  t.is(eaiCode(fake, EAI_SYSTEM), 'ENOENT');
  t.is(eaiCode(fake, EAI_NONAME), 'EAI_NONAME');
  t.is(eaiCode(fake, EAI_INTR), 'UNKNOWN', 'libuv aborts on a value it does not know; a pool thread cannot');
  for (let status = -1; status >= -12; status--) {
    if (status === EAI_SYSTEM) continue;
    const code = eaiCode(fake, status);
    t.regex(code, /^EAI_/);
    t.true(errnoOf(code) <= -3000, `${code} is in libuv's table`);
  }
});

for (const [name, bind] of [['koffi', bindKoffi], ['ffi-rs', bindFfiRs]] as const) {
  test(`${name} passes NULL as a ptr of 0 and copies libc's list through raw addresses`, (t) => {
    const libc = bind();
    const hints = new Uint8Array(ADDRINFO.size);
    const h = new DataView(hints.buffer);
    h.setInt32(ADDRINFO.flags, AI_NUMERICHOST, true);
    h.setInt32(ADDRINFO.family, AF_INET, true);
    h.setInt32(ADDRINFO.socktype, SOCK_STREAM, true);
    const res = new Uint8Array(POINTER_SIZE);
    const node = Buffer.from('10.1.2.3\0');
    // A NULL service gives port 0; a pointer to an empty string would fail as a service.
    t.is(libc.getaddrinfo(libc.addressOf(node), 0, libc.addressOf(hints), libc.addressOf(res)), 0);
    const head = Number(new DataView(res.buffer).getBigUint64(0, true));
    t.not(head, 0);
    const ai = new Uint8Array(ADDRINFO.size + 2).fill(0xee);
    libc.memcpy(libc.addressOf(ai.subarray(1, 1 + ADDRINFO.size)), head, ADDRINFO.size);
    t.is(ai[0], 0xee);
    t.is(ai[ADDRINFO.size + 1], 0xee, 'exactly n bytes were copied');
    const view = new DataView(ai.buffer, 1);
    t.is(view.getInt32(ADDRINFO.family, true), AF_INET);
    t.is(view.getInt32(ADDRINFO.socktype, true), SOCK_STREAM);
    t.is(view.getUint32(ADDRINFO.addrlen, true), 16);
    t.is(view.getBigUint64(ADDRINFO.next, true), 0n, 'one entry');
    const sa = new Uint8Array(16);
    libc.memcpy(libc.addressOf(sa), Number(view.getBigUint64(ADDRINFO.addr, true)), sa.length);
    t.deepEqual([...sa.subarray(0, 8)], [AF_INET, 0, 0, 0, 10, 1, 2, 3]);
    t.is(libc.freeaddrinfo(head), undefined);
  });
}

test('lookup runs on a worker thread under the same driver, with the same answer', async (t) => {
  const libc = specLibc();
  const here = lookup(libc, 'localhost', '443', 0, null, 0);
  const worker = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const { tryLibc } = await import(workerData.driver);
      const { lookup } = await import(workerData.dns);
      const libc = tryLibc();
      if (libc instanceof Error) throw libc;
      parentPort.postMessage({ driver: libc.driver, result: lookup(libc, 'localhost', '443', 0, null, 0) });
    })();
  `, {
    eval: true,
    workerData: {
      driver: new URL('../ffi/driver.js', import.meta.url).href,
      dns: new URL('../lib/requests/lookup.js', import.meta.url).href,
    },
  });
  const message = await new Promise<{ driver: string; result: unknown }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  t.is(message.driver, libc.driver);
  t.deepEqual(message.result, here);
  t.true(Array.isArray(here) && here.every((a) => a.port === 443));
});
