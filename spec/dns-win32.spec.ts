import test from 'ava';
import dns from 'node:dns';
import {
  WSAEAFNOSUPPORT,
  WSAEINVAL,
  WSAESOCKTNOSUPPORT,
  WSAHOST_NOT_FOUND,
  WSANO_DATA,
  WSANO_RECOVERY,
  WSATRY_AGAIN,
  WSATYPE_NOT_FOUND,
  WSA_NOT_ENOUGH_MEMORY,
  tryWs2_32,
  wsaCode,
} from '../ffi/ws2_32.js';
import { Loop, UVError, getaddrinfo, getnameinfo, type Address } from '../lib/index.js';
import { closeLoop } from './support.js';

// getaddrinfo and getnameinfo on Windows (lib/backend/dns-win32.ts): ws2_32 on pool threads, with
// the Address objects and error shape of the Unix entries (docs/api.md, getaddrinfo). The lookups
// run on Windows only; the error names, a table, are checked everywhere.

const windows = process.platform === 'win32';
/** A test that needs ws2_32: skipped elsewhere, where the libc entries run (dns-ffi.spec.ts). */
const onWindows = windows ? test.serial : test.skip;

// Windows' NI_* values (ws2def.h), not Linux's.
const NI_NUMERICHOST = 0x02;
const NI_NAMEREQD = 0x04;
const NI_NUMERICSERV = 0x08;

test('WSA errors are named as uv__getaddrinfo_translate_error names them, the rest as uv_translate_sys_error', (t) => {
  t.is(wsaCode(WSATRY_AGAIN), 'EAI_AGAIN');
  t.is(wsaCode(WSAEINVAL), 'EAI_BADFLAGS');
  t.is(wsaCode(WSANO_RECOVERY), 'EAI_FAIL');
  t.is(wsaCode(WSAEAFNOSUPPORT), 'EAI_FAMILY');
  t.is(wsaCode(WSA_NOT_ENOUGH_MEMORY), 'EAI_MEMORY');
  t.is(wsaCode(WSAHOST_NOT_FOUND), 'EAI_NONAME');
  t.is(wsaCode(WSATYPE_NOT_FOUND), 'EAI_SERVICE');
  t.is(wsaCode(WSAESOCKTNOSUPPORT), 'EAI_SOCKTYPE');
  t.is(wsaCode(WSANO_DATA), 'ENOENT');
  // Wine hands glibc's EAI_ADDRFAMILY (-9) through unconverted: libuv's default names it so too.
  t.is(wsaCode(-9), 'UNKNOWN');
});

test('off Windows, binding ws2_32 is an Error that says why', (t) => {
  if (windows) return t.pass();
  const w = tryWs2_32();
  t.true(w instanceof Error);
  t.regex((w as Error).message, /only on Windows/);
});

function lookup(
  loop: Loop,
  node: string,
  service: string | null,
  hints: Parameters<typeof getaddrinfo>[3],
): Promise<{ err: UVError | null; list?: Address[] }> {
  return new Promise((resolve) => {
    getaddrinfo(loop, node, service, hints, (err, list) => resolve({ err, list }));
  });
}

onWindows("getaddrinfo('localhost') answers as dns.lookup does, with the port and socket type asked for", async (t) => {
  const node = await new Promise<dns.LookupAddress[]>((resolve, reject) => {
    dns.lookup('localhost', { all: true, verbatim: true }, (err, list) => (err ? reject(err) : resolve(list)));
  });
  const loop = new Loop();
  const pending = lookup(loop, 'localhost', '80', { socktype: 'stream' });
  loop.run();
  const { err, list } = await pending;
  t.is(err, null);
  t.deepEqual(
    list?.map(({ address, family }) => ({ address, family })),
    node,
  );
  for (const a of list ?? []) {
    t.is(a.port, 80);
    t.is(a.socktype, 'stream');
  }
  closeLoop(t, loop);
});

onWindows("without a socktype hint Windows lists an address once, as 'any'; literals and hints", async (t) => {
  const loop = new Loop();
  const v4 = lookup(loop, '127.0.0.1', null, null);
  const v6 = lookup(loop, '::1', '443', { family: 6, socktype: 'stream' });
  const dgram = lookup(loop, '127.0.0.1', '80', { family: 4, socktype: 'dgram' });
  loop.run();
  t.deepEqual((await v4).list, [{ family: 4, address: '127.0.0.1', port: 0, socktype: 'any' }]);
  t.deepEqual((await v6).list, [{ family: 6, address: '::1', port: 443, socktype: 'stream' }]);
  t.deepEqual((await dgram).list, [{ family: 4, address: '127.0.0.1', port: 80, socktype: 'dgram' }]);
  closeLoop(t, loop);
});

onWindows('a name that cannot exist is EAI_NONAME, with the shape of the Unix errors', async (t) => {
  const loop = new Loop();
  const pending = lookup(loop, 'no-such-host.invalid', null, null);
  loop.run();
  const { err } = await pending;
  const e = err as (UVError & { hostname?: string }) | null;
  t.true(e instanceof UVError);
  t.is(e?.code, 'EAI_NONAME');
  t.true((e?.errno ?? 0) < 0);
  t.is(e?.syscall, 'getaddrinfo');
  t.is(e?.hostname, 'no-such-host.invalid');
  closeLoop(t, loop);
});

onWindows('many lookups in flight each come back whole and their own', async (t) => {
  const loop = new Loop();
  const hosts = ['127.0.0.1', '::1', '10.0.0.1', 'fe80::1:2'];
  const all: Promise<string>[] = [];
  for (let i = 0; i < 200; i++) {
    const host = hosts[i % hosts.length] as string;
    all.push(
      lookup(loop, host, String(i), { socktype: 'stream', flags: 4 /* AI_NUMERICHOST */ }).then(({ err, list }) => {
        const want = [{ family: host.includes(':') ? 6 : 4, address: host, port: i, socktype: 'stream' }];
        return err === null && JSON.stringify(list) === JSON.stringify(want) ? '' : `${i}: ${String(err)}`;
      }),
    );
  }
  loop.run();
  t.deepEqual(
    (await Promise.all(all)).filter((s) => s !== ''),
    [],
  );
  closeLoop(t, loop);
});

onWindows('getnameinfo gives numeric names with numeric flags, and EAI_NONAME when a name is required', async (t) => {
  const loop = new Loop();
  const ask = (address: string, port: number, flags: number) =>
    new Promise<{ err: UVError | null; r?: { host: string; service: string } }>((resolve) => {
      getnameinfo(loop, address, port, flags, (err, r) => resolve({ err, r }));
    });
  const numeric = NI_NUMERICHOST | NI_NUMERICSERV;
  const v4 = ask('127.0.0.1', 80, numeric);
  const v6 = ask('::1', 443, numeric);
  const mapped = ask('::ffff:1.2.3.4', 65535, numeric);
  const zoned = ask('fe80::1%1', 22, NI_NUMERICSERV);
  const required = ask('10.255.255.1', 0, NI_NAMEREQD);
  loop.run();
  t.deepEqual((await v4).r, { host: '127.0.0.1', service: '80' });
  t.deepEqual((await v6).r, { host: '::1', service: '443' });
  t.deepEqual((await mapped).r, { host: '::ffff:1.2.3.4', service: '65535' });
  const z = await zoned;
  t.is(z.err, null);
  t.is(z.r?.service, '22');
  t.true(z.r?.host.startsWith('fe80::1%'), `the zone comes back on the name: ${z.r?.host}`);
  const e = (await required).err as (UVError & { hostname?: string }) | null;
  t.is(e?.code, 'EAI_NONAME');
  t.is(e?.syscall, 'getnameinfo');
  t.is(e?.hostname, '10.255.255.1');
  closeLoop(t, loop);
});
