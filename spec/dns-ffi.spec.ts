// getaddrinfo and getnameinfo as a pool thread runs them (lib/requests/dns-ops.ts): each op's
// encoder, runner and decoder, driven here on this thread over a slot of the shared heap, with
// libc through the driver UVTS_FFI names. Checked against Node's dns module, which asks the
// same libc through libuv, and the address formatter against libc's inet_ntop and Node's.
import dns from 'node:dns';
import { SocketAddress } from 'node:net';
import { domainToASCII } from 'node:url';
import { bindFfiRs } from '../ffi/ffi-rs.js';
import { bindKoffi } from '../ffi/koffi.js';
import {
  ADDRINFO,
  AF_INET,
  AF_INET6,
  AI_NUMERICHOST,
  AI_NUMERICSERV,
  EAI_NONAME,
  EAI_SYSTEM,
  ENOENT,
  INET6_ADDRSTRLEN,
  NI_NAMEREQD,
  NI_NUMERICHOST,
  NI_NUMERICSERV,
  POINTER_SIZE,
  SOCK_DGRAM,
  SOCK_STREAM,
  type Libc,
} from '../ffi/libc.js';
import { EAI_INTR } from '../ffi/os/linux.js';
import { codeOf, errnoOf } from '../lib/errors.js';
import { DNS_OPS, type Address } from '../lib/requests/dns-ops.js';
import { eaiCode, formatIPv4, formatIPv6, toAscii } from '../lib/requests/lookup.js';
import { alloc, free, heap, heapReaches } from '../lib/shared-heap.js';
import { AGAIN, NO_VALUE, Failed } from '../lib/threadpool/op.js';
import { Refused, freeBlocks } from '../lib/threadpool/slot-data.js';
import {
  A0,
  A1,
  A2,
  DATA,
  DATA_LEN,
  ERROR,
  IN,
  OUT,
  OUT_AREA,
  OUT_LEN,
  RECORD,
  RESULT,
  SLOT_BYTES,
  SYSCALL,
  int,
  setInt,
  type Slot,
} from '../lib/threadpool/slot.js';
import { specLibc, unixOnlyFile } from './support.js';

const test = unixOnlyFile('Unix only: getaddrinfo, getnameinfo and inet_ntop from libc through FFI');

type NodeResult<T> = { err: NodeJS.ErrnoException } | { value: T };

/**
 * One turn of a dns op on this thread, as the pool runs it: a fresh slot, the encoder, the
 * runner with libc and the heap's address, then the decoder's value, or the libuv code of the
 * error the runner left (or the encoder refused with). The slot's blocks are freed after.
 */
function turn<T>(encode: (slot: Slot) => void, run: (slot: Slot) => void, decode: (slot: Slot) => T): T | string {
  const slot = alloc(SLOT_BYTES) as Slot;
  if (slot === 0) throw new Error('heap full');
  heapReaches(slot + SLOT_BYTES);
  heap.u8.fill(0xa5, slot, slot + SLOT_BYTES); // garbage, as a reused slot may hold
  for (const field of [ERROR, SYSCALL, RECORD, OUT, OUT_LEN, RESULT, A0, A1, A2]) setInt(slot, field, 0);
  setInt(slot, DATA, slot + IN);
  setInt(slot, DATA_LEN, 0);
  try {
    try {
      encode(slot);
    } catch (err) {
      if (err instanceof Refused) return err.code;
      throw err;
    }
    run(slot);
    const errno = int(slot, ERROR);
    return errno !== 0 ? codeOf(errno) : decode(slot);
  } finally {
    freeBlocks(slot);
    free(slot);
  }
}

const REQ = { state: undefined };

/** A decoder's value: these ops never answer AGAIN, NO_VALUE or Failed. */
function value<T>(v: T | typeof AGAIN | typeof NO_VALUE | Failed): T {
  if (v === AGAIN || v === NO_VALUE || v instanceof Failed)
    throw new Error('a dns op answered AGAIN, NO_VALUE or Failed');
  return v;
}

function pool(libc: Libc) {
  return { libc, base: libc.addressOf(heap.u8) };
}

const FAMILY = { 0: 0, 4: 4, 6: 6 } as const;
const SOCKTYPE = { stream: SOCK_STREAM, dgram: SOCK_DGRAM } as const;

/** getaddrinfo through the op: family 0/4/6 (another number reaches libc as it is), socktype by name or number. */
function lookup(
  libc: Libc,
  node: string,
  service: string | null,
  family: number,
  socktype: keyof typeof SOCKTYPE | null | number,
  flags: number,
): Address[] | string {
  const op = DNS_OPS.getaddrinfo;
  const type = socktype === null ? 0 : typeof socktype === 'number' ? socktype : SOCKTYPE[socktype];
  return turn(
    (slot) => op.encode(slot, REQ, node, service, family, type, flags),
    (slot) => void op.run(slot, pool(libc)),
    (slot) => value(op.decode(slot, REQ)),
  );
}

function nameinfo(
  libc: Libc,
  address: string,
  family: 4 | 6,
  port: number,
  flags: number,
): { host: string; service: string } | string {
  const op = DNS_OPS.getnameinfo;
  return turn(
    (slot) => op.encode(slot, REQ, address, family, port, flags),
    (slot) => void op.run(slot, pool(libc)),
    (slot) => value(op.decode(slot, REQ)),
  );
}

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
  // dns.lookup asks with ai_socktype SOCK_STREAM and ai_flags 0.
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
    const { ours, node } = sameAsNode(
      lookup(libc, 'localhost', null, FAMILY[family], 'stream', 0),
      await nodeLookup('localhost', family),
    );
    t.deepEqual(ours, node, `family ${family}`);
  }
  t.deepEqual(lookup(libc, '::1', null, 6, 'stream', AI_NUMERICHOST), [
    { family: 6, address: '::1', port: 0, socktype: 'stream' },
  ]);
  t.is(lookup(libc, '::1', null, 4, 'stream', AI_NUMERICHOST), 'EAI_ADDRFAMILY', 'an IPv6 literal asked for as IPv4');
});

test('a service gives its port, in network order decoded', (t) => {
  const libc = specLibc();
  const http = lookup(libc, 'localhost', '80', 4, 'stream', 0);
  t.true(Array.isArray(http) && http.length > 0);
  for (const a of http as Address[]) t.is(a.port, 80);
  // 0x1234 tells a byte-swapped port (0x3412) from the right one.
  t.deepEqual(lookup(libc, '127.0.0.1', '4660', 4, 'dgram', AI_NUMERICHOST | AI_NUMERICSERV), [
    { family: 4, address: '127.0.0.1', port: 0x1234, socktype: 'dgram' },
  ]);
  t.deepEqual(lookup(libc, '::1', '65535', 6, 'stream', AI_NUMERICHOST), [
    { family: 6, address: '::1', port: 65535, socktype: 'stream' },
  ]);
  t.deepEqual(
    lookup(libc, '255.254.253.252', '1', 4, 'stream', AI_NUMERICHOST),
    [{ family: 4, address: '255.254.253.252', port: 1, socktype: 'stream' }],
    'every byte of the address lands',
  );
  t.deepEqual(lookup(libc, 'fedc:ba98:7654:3210:0123:4567:89ab:cdef', '257', 6, 'stream', AI_NUMERICHOST), [
    { family: 6, address: 'fedc:ba98:7654:3210:123:4567:89ab:cdef', port: 257, socktype: 'stream' },
  ]);
});

test('an IPv4-mapped and an IPv4-compatible address print as inet_ntop prints them', (t) => {
  const libc = specLibc();
  t.deepEqual(lookup(libc, '::ffff:1.2.3.4', '7', 6, 'stream', AI_NUMERICHOST), [
    { family: 6, address: '::ffff:1.2.3.4', port: 7, socktype: 'stream' },
  ]);
  t.deepEqual(lookup(libc, '0:0:0:0:0:ffff:0a00:0001', null, 0, 'stream', AI_NUMERICHOST), [
    { family: 6, address: '::ffff:10.0.0.1', port: 0, socktype: 'stream' },
  ]);
  t.deepEqual(lookup(libc, '::9.8.7.6', null, 6, 'dgram', AI_NUMERICHOST), [
    { family: 6, address: '::9.8.7.6', port: 0, socktype: 'dgram' },
  ]);
});

test('without a socktype hint every address comes once per socket type, in libc order, undeduplicated; a hint filters', (t) => {
  const libc = specLibc();
  const all = lookup(libc, '127.0.0.1', '7', 4, null, AI_NUMERICHOST);
  t.deepEqual(
    all,
    (['stream', 'dgram', 'raw'] as const).map((socktype) => ({ family: 4, address: '127.0.0.1', port: 7, socktype })),
  );
  t.deepEqual(lookup(libc, '127.0.0.1', '7', 4, 'dgram', AI_NUMERICHOST), [
    { family: 4, address: '127.0.0.1', port: 7, socktype: 'dgram' },
  ]);
  t.deepEqual(lookup(libc, '127.0.0.1', '7', 4, 'stream', AI_NUMERICHOST), [
    { family: 4, address: '127.0.0.1', port: 7, socktype: 'stream' },
  ]);
  // localhost from /etc/hosts, with no hints at all: three records per address, every one kept.
  const hosts = lookup(libc, 'localhost', null, 0, null, 0);
  const streams = lookup(libc, 'localhost', null, 0, 'stream', 0);
  t.true(Array.isArray(hosts) && Array.isArray(streams));
  t.is((hosts as Address[]).length, (streams as Address[]).length * 3);
});

/**
 * A libc whose getaddrinfo answers with a list built here, in memory of its own at fake
 * addresses (FAKE + offset); memcpy reads that memory or the heap (the runner is given base 0,
 * so its C pointers are heap offsets). It counts freeaddrinfo calls.
 */
function fakeLibc(
  entries: { family: number; socktype: number; addrlen?: number; noAddr?: boolean; bytes: number[]; port: number }[],
) {
  const FAKE = 2 ** 40;
  const NODE = ADDRINFO.size + 28;
  const mem = new Uint8Array(entries.length * NODE);
  const view = new DataView(mem.buffer);
  const setPointer = (at: number, p: number) => view.setBigUint64(at, BigInt(p), true);
  entries.forEach((e, i) => {
    const at = i * NODE;
    view.setInt32(at + ADDRINFO.family, e.family, true);
    view.setInt32(at + ADDRINFO.socktype, e.socktype, true);
    view.setUint32(at + ADDRINFO.addrlen, e.addrlen ?? (e.family === AF_INET6 ? 28 : 16), true);
    setPointer(at + ADDRINFO.addr, e.noAddr === true ? 0 : FAKE + at + ADDRINFO.size);
    setPointer(at + ADDRINFO.next, i + 1 < entries.length ? FAKE + at + NODE : 0);
    view.setUint16(at + ADDRINFO.size, e.family, true);
    view.setUint16(at + ADDRINFO.size + 2, e.port, false);
    mem.set(e.bytes, at + ADDRINFO.size + (e.family === AF_INET6 ? 8 : 4));
  });
  const calls = { freed: [] as number[] };
  const libc = {
    getaddrinfo(_node: number, _service: number, _hints: number, res: number) {
      heap.u32[res >> 2] = FAKE % 2 ** 32;
      heap.u32[(res >> 2) + 1] = Math.floor(FAKE / 2 ** 32);
      return 0;
    },
    memcpy(dst: number, src: number, n: number) {
      const from = src >= FAKE ? mem.subarray(src - FAKE, src - FAKE + n) : heap.u8.subarray(src, src + n);
      heap.u8.set(from, dst);
      return dst;
    },
    freeaddrinfo(p: number) {
      calls.freed.push(p - FAKE);
    },
  } as unknown as Libc;
  return { libc, calls };
}

test('a list longer than the OUT area moves to a heap block, in order; entries the API cannot carry are skipped; the list is freed', (t) => {
  const entries = [];
  const expected: Address[] = [];
  for (let i = 0; i < 130; i++) {
    const v6 = i % 2 === 1;
    const socktype = [SOCK_STREAM, SOCK_DGRAM, 3][i % 3] as number;
    const bytes = v6
      ? [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, i >> 8, i & 0xff]
      : [10, 0, i >> 8, i & 0xff];
    entries.push({ family: v6 ? AF_INET6 : AF_INET, socktype, bytes, port: 1000 + i });
    expected.push({
      family: v6 ? 6 : 4,
      address: v6 ? `2001:db8::${i.toString(16)}` : `10.0.${i >> 8}.${i & 0xff}`,
      port: 1000 + i,
      socktype: (['stream', 'dgram', 'raw'] as const)[i % 3] as Address['socktype'],
    });
    // Between them, what a libc may list that the API has no word for, or that is short.
    if (i % 17 === 0) entries.push({ family: 1 /* AF_UNIX */, socktype: SOCK_STREAM, bytes: [], port: 0 });
    if (i % 19 === 0) entries.push({ family: AF_INET, socktype: 5, bytes: [1, 2, 3, 4], port: 1 });
    if (i % 23 === 0) entries.push({ family: AF_INET6, socktype: SOCK_STREAM, addrlen: 16, bytes: [], port: 1 });
    if (i % 29 === 0) entries.push({ family: AF_INET, socktype: SOCK_STREAM, noAddr: true, bytes: [], port: 1 });
  }
  const { libc, calls } = fakeLibc(entries);
  const op = DNS_OPS.getaddrinfo;
  let block = 0;
  const list = turn(
    (slot) => op.encode(slot, REQ, 'many.example', null, 0, 0, 0),
    (slot) => {
      void op.run(slot, { libc, base: 0 });
      block = int(slot, OUT) === slot + OUT_AREA ? 0 : int(slot, OUT);
    },
    (slot) => value(op.decode(slot, REQ)),
  );
  t.deepEqual(list, expected);
  t.not(block, 0, 'the records left the OUT area for a heap block');
  t.deepEqual(calls.freed, [0], 'freeaddrinfo once, on the head');

  // Ten records fit the OUT area itself.
  const few = fakeLibc(
    entries.filter((e) => e.family === AF_INET && e.socktype !== 5 && e.noAddr !== true).slice(0, 10),
  );
  let inline = false;
  const ten = turn(
    (slot) => op.encode(slot, REQ, 'ten.example', null, 0, 0, 0),
    (slot) => {
      void op.run(slot, { libc: few.libc, base: 0 });
      inline = int(slot, OUT) === slot + OUT_AREA;
    },
    (slot) => value(op.decode(slot, REQ)),
  );
  t.is((ten as Address[]).length, 10);
  t.true(inline);
});

test('freeaddrinfo runs even when copying the list throws', (t) => {
  const { libc, calls } = fakeLibc([{ family: AF_INET, socktype: SOCK_STREAM, bytes: [1, 2, 3, 4], port: 1 }]);
  const broken = {
    ...libc,
    memcpy: () => {
      throw new Error('boom');
    },
  } as unknown as Libc;
  const op = DNS_OPS.getaddrinfo;
  t.throws(
    () =>
      turn(
        (slot) => op.encode(slot, REQ, 'x.example', null, 0, 0, 0),
        (slot) => void op.run(slot, { libc: broken, base: 0 }),
        (slot) => value(op.decode(slot, REQ)),
      ),
    { message: 'boom' },
  );
  t.deepEqual(calls.freed, [0]);
});

test('a name that cannot exist fails as it does for Node', async (t) => {
  const libc = specLibc();
  const ours = lookup(libc, 'nonexistent.invalid', null, 0, 'stream', 0);
  t.is(typeof ours, 'string');
  const node = await nodeLookup('nonexistent.invalid', 0);
  t.true('err' in node);
  t.is(errnoOf(ours as string), 'err' in node ? (node.err.errno ?? 0) : 0, `ours ${String(ours)}`);
  // With a resolver this is EAI_NONAME (Node calls it ENOTFOUND; the errno is libuv's EAI_NONAME).
  if (ours === 'EAI_NONAME') t.is(errnoOf('EAI_NONAME'), -3008);
  t.is(
    lookup(libc, 'localhost', null, 0, null, AI_NUMERICHOST),
    'EAI_NONAME',
    'not numeric, and lookups are forbidden',
  );
});

test('hints libc refuses come back as libuv names them', (t) => {
  const libc = specLibc();
  t.is(lookup(libc, 'localhost', null, 5, null, 0), 'EAI_FAMILY');
  t.is(lookup(libc, 'localhost', null, 0, 5 /* SOCK_SEQPACKET: not in the API */, 0), 'EAI_SOCKTYPE');
  t.is(lookup(libc, 'localhost', null, 0, null, 0x10000), 'EAI_BADFLAGS');
  t.is(lookup(libc, 'localhost', 'no-such-service-uvts', 0, 'stream', 0), 'EAI_SERVICE');
  t.is(lookup(libc, '127.0.0.1', 'http', 4, 'stream', AI_NUMERICHOST | AI_NUMERICSERV), 'EAI_NONAME');
});

test('names libuv refuses before queueing fail in the encoder: empty or over-long EINVAL', (t) => {
  const libc = specLibc();
  t.is(lookup(libc, '', '80', 0, null, 0), 'EINVAL', 'libuv refuses an empty host name');
  t.is(lookup(libc, 'a'.repeat(256), null, 0, null, 0), 'EINVAL', '256 bytes do not fit with the NUL');
  t.is(lookup(libc, '\ud800.example', null, 0, null, 0), 'EINVAL', 'a lone surrogate is not UTF-8');
  t.is(
    lookup(libc, `${`${'ü'.repeat(40)}.`.repeat(6)}example`, null, 0, null, 0),
    'EINVAL',
    'its IDNA form is too long',
  );
  t.is(typeof lookup(libc, 'a'.repeat(255), null, 0, null, AI_NUMERICHOST), 'string', '255 bytes reach libc');
  // A long service does not fit the IN area: DATA moves to a heap block, and libc still reads it.
  t.is(lookup(libc, '127.0.0.1', 'x'.repeat(700), 4, 'stream', AI_NUMERICHOST), 'EAI_SERVICE');
  t.deepEqual(lookup(libc, '127.0.0.1', `${'0'.repeat(700)}9`, 4, 'stream', AI_NUMERICHOST | AI_NUMERICSERV), [
    { family: 4, address: '127.0.0.1', port: 9, socktype: 'stream' },
  ]);
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
  t.deepEqual(toAscii('\udc00'), { code: 'EINVAL' });
});

test('getnameinfo agrees with dns.lookupService, and numeric flags give the literal back', async (t) => {
  const libc = specLibc();
  // Node's lookupService asks libuv with NI_NAMEREQD: an address without a name is an error.
  const ours = nameinfo(libc, '127.0.0.1', 4, 22, NI_NAMEREQD);
  const node = await nodeLookupService('127.0.0.1', 22);
  t.deepEqual(typeof ours === 'string' ? errnoOf(ours) : ours, 'err' in node ? node.err.errno : node.value);
  t.deepEqual(nameinfo(libc, '127.0.0.1', 4, 0x1234, NI_NUMERICHOST | NI_NUMERICSERV), {
    host: '127.0.0.1',
    service: '4660',
  });
  t.deepEqual(nameinfo(libc, '::1', 6, 65535, NI_NUMERICHOST | NI_NUMERICSERV), { host: '::1', service: '65535' });
  // Without NI_NAMEREQD an address with no name comes back as its literal.
  const plain = nameinfo(libc, '::1', 6, 80, 0);
  t.true(typeof plain !== 'string' && plain.host.length > 0 && plain.service.length > 0);
  const v6 = nameinfo(libc, '::1', 6, 80, NI_NAMEREQD);
  const node6 = await nodeLookupService('::1', 80);
  t.deepEqual(typeof v6 === 'string' ? errnoOf(v6) : v6, 'err' in node6 ? node6.err.errno : node6.value);
});

test('getnameinfo takes an IPv6 zone as uv_ip6_addr does, and Node with it', async (t) => {
  const libc = specLibc();
  const ours = nameinfo(libc, 'fe80::1%lo', 6, 80, NI_NUMERICHOST | NI_NUMERICSERV);
  t.deepEqual(ours, { host: 'fe80::1%lo', service: '80' }, "the zone became lo's index, and libc names it back");
  t.deepEqual(
    nameinfo(libc, 'fe80::1%no-such-if', 6, 80, NI_NUMERICHOST | NI_NUMERICSERV),
    { host: 'fe80::1', service: '80' },
    'an unknown interface is no zone, as in libuv',
  );
  const node = await nodeLookupService('fe80::1%lo', 80);
  const mine = nameinfo(libc, 'fe80::1%lo', 6, 80, NI_NAMEREQD);
  t.deepEqual(typeof mine === 'string' ? errnoOf(mine) : mine, 'err' in node ? node.err.errno : node.value);
});

test('getnameinfo: a literal inet_pton refuses is EINVAL from the pool, names come back latin1', (t) => {
  const libc = specLibc();
  // isIP would refuse these before a request is made; the runner still checks what libc parsed.
  t.is(nameinfo(libc, 'localhost', 4, 80, 0), 'EINVAL');
  t.is(nameinfo(libc, '1.2.3.4', 6, 80, 0), 'EINVAL');
  const r = nameinfo(libc, '127.0.0.1', 4, 80, NI_NUMERICHOST);
  t.true(typeof r !== 'string' && r.host === '127.0.0.1' && r.service.length > 0);
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

/** A small deterministic generator (xorshift32), so a failure names the same addresses every run. */
function generator(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** IPv6 addresses rich in zero runs, mapped and compatible forms among them. */
function sixteenByteAddresses(count: number): Uint8Array[] {
  const next = generator(0x5eed);
  const out: Uint8Array[] = [];
  const fixed = [
    [],
    [0, 0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304],
    [0, 0, 0, 0, 0, 0, 0x0102, 0x0304],
    [0, 0, 0, 0, 0, 0xffff, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 2],
    [0, 0, 0, 0, 0, 0, 1, 0],
    [1, 0, 0, 1, 0, 0, 0, 1],
    [0, 0, 1, 0, 0, 0, 0, 0],
    [1, 0, 0, 0, 1, 0, 0, 0],
    [0, 0, 0, 0, 0, 0xfffe, 1, 2],
    [0, 0, 0, 0, 1, 0xffff, 1, 2],
    [0xfe80, 0, 0, 0, 0, 0, 0, 1],
    [1, 2, 3, 4, 5, 6, 7, 8],
    [0, 1, 0, 1, 0, 1, 0, 1],
    [0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff],
  ];
  for (const words of fixed) {
    const b = new Uint8Array(16);
    words.forEach((w, i) => {
      b[2 * i] = w >> 8;
      b[2 * i + 1] = w & 0xff;
    });
    out.push(b);
  }
  while (out.length < count) {
    const b = new Uint8Array(16);
    const kind = next() % 4;
    for (let i = 0; i < 8; i++) {
      const r = next();
      const w = r % 3 === 0 ? 0 : (r >>> 8) & (r % 5 === 0 ? 0xf : 0xffff);
      b[2 * i] = w >> 8;
      b[2 * i + 1] = w & 0xff;
    }
    if (kind === 0) b.fill(0, 0, 10).set([0xff, 0xff], 10);
    if (kind === 1) b.fill(0, 0, 12);
    out.push(b);
  }
  return out;
}

test("IPv6 text is what libc's inet_ntop and Node's uv_inet_ntop print, byte for byte", (t) => {
  const libc = specLibc();
  const text = new Uint8Array(INET6_ADDRSTRLEN);
  let checked = 0;
  for (const bytes of sixteenByteAddresses(3000)) {
    text.fill(0);
    t.not(libc.inet_ntop(AF_INET6, bytes, text, INET6_ADDRSTRLEN), 0);
    const theirs = Buffer.from(text.subarray(0, text.indexOf(0))).toString('latin1');
    const ours = formatIPv6(bytes, 0);
    const full = Array.from({ length: 8 }, (_, i) =>
      (((bytes[2 * i] as number) << 8) | (bytes[2 * i + 1] as number)).toString(16),
    ).join(':');
    const node = new SocketAddress({ address: full, family: 'ipv6' }).address;
    if (ours !== theirs || ours !== node) {
      t.fail(`${full}: ours ${ours}, libc ${theirs}, Node ${node}`);
      return;
    }
    checked++;
  }
  t.is(checked, 3000);
  // At an offset inside a larger buffer, as the decoder reads a record.
  const padded = new Uint8Array(40).fill(7);
  padded.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 0, 1], 20);
  t.is(formatIPv6(padded, 20), '::ffff:192.168.0.1');
});

test('IPv4 text is dotted decimal, from any offset', (t) => {
  const libc = specLibc();
  const text = new Uint8Array(INET6_ADDRSTRLEN);
  const next = generator(42);
  for (let i = 0; i < 500; i++) {
    const bytes = Uint8Array.of(next() & 0xff, next() & 0xff, next() & 0xff, i < 10 ? 0 : next() & 0xff);
    text.fill(0);
    libc.inet_ntop(AF_INET, bytes, text, INET6_ADDRSTRLEN);
    const theirs = Buffer.from(text.subarray(0, text.indexOf(0))).toString('latin1');
    if (formatIPv4(bytes, 0) !== theirs) {
      t.fail(`${theirs}: ours ${formatIPv4(bytes, 0)}`);
      return;
    }
  }
  t.is(formatIPv4(Uint8Array.of(9, 0, 255, 10, 0), 1), '0.255.10.0');
});

for (const [name, bind] of [
  ['koffi', bindKoffi],
  ['ffi-rs', bindFfiRs],
] as const) {
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

  test(`${name}: inet_pton and if_nametoindex on raw addresses`, (t) => {
    const libc = bind();
    const text = Buffer.from('::ffff:1.2.3.4\0', 'latin1');
    const dst = new Uint8Array(18).fill(0xee);
    t.is(libc.inet_ptonAt(AF_INET6, libc.addressOf(text), libc.addressOf(dst.subarray(1, 17))), 1);
    t.deepEqual([...dst], [0xee, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4, 0xee]);
    t.is(libc.inet_ptonAt(AF_INET, libc.addressOf(Buffer.from('256.0.0.1\0')), libc.addressOf(dst)), 0);
    t.true(libc.if_nametoindex(libc.addressOf(Buffer.from('lo\0'))) > 0, 'lo has an index');
    t.is(libc.if_nametoindex(libc.addressOf(Buffer.from('no-such-if\0'))), 0);
  });

  test(`${name}: a getaddrinfo turn leaves its records where the layout says`, (t) => {
    const libc = bind();
    const op = DNS_OPS.getaddrinfo;
    const seen = turn(
      (slot) => op.encode(slot, REQ, '::ffff:10.20.30.40', '4660', 6, SOCK_DGRAM, AI_NUMERICHOST),
      (slot) => void op.run(slot, pool(libc)),
      (slot) => {
        const at = int(slot, OUT);
        return { inline: at === slot + OUT_AREA, bytes: [...heap.u8.subarray(at, at + int(slot, OUT_LEN))] };
      },
    );
    t.deepEqual(seen, {
      inline: true,
      bytes: [6, SOCK_DGRAM, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 20, 30, 40],
    });
  });
}
