// Udp (lib/handles/udp.ts), after libuv's test-udp-*.c: datagrams on loopback, IPv4 and IPv6,
// between Udp handles and with node:dgram; the send queue's rules (never a synchronous callback,
// ECANCELED at close, EBADF after it); receiving everything one readiness event finds; the
// socket options. Every spec ends with its handles closed and loop.close() succeeding. On
// Windows they run on the iocp backend's overlapped sockets (lib/backend/iocp-udp.ts); only
// those that need libc, Linux's options or /proc are Unix's alone.
import dgram from 'node:dgram';
import { AF_INET, SOCK_DGRAM } from '../ffi/libc.js';
import { IP_RECVERR } from '../ffi/os/linux.js';
import { openSocket } from '../lib/backend/socket.js';
import { errnoOf } from '../lib/errors.js';
import { useRecvmmsg } from '../lib/handles/udp.js';
import { Loop, Udp, UVError, type RemoteInfo } from '../lib/index.js';
import { encodeSockaddr } from '../lib/sockaddr.js';
import test from 'ava';
import {
  SOCKOPT,
  closeFds,
  closeLoop,
  onWindows,
  openFds,
  socketOption,
  specLibc,
  unixOnly,
  uvCode,
  viaLibkqueue,
} from './support.js';

const {
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_LOOP,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IP_TTL,
  SOL_SOCKET,
  SO_BROADCAST,
  SO_REUSEADDR,
} = SOCKOPT;

const HOST = '127.0.0.1';

/** The socket under a handle: its fd on Unix. */
function fdOf(udp: Udp): number {
  return (udp as unknown as { fd: number }).fd;
}

function codeOf(err: UVError | null): string {
  return err === null ? 'ok' : err.code;
}

/**
 * Sends `count` datagrams to `port` from a plain socket, outside any loop, before it polls. On
 * Windows, which has no libc, from a Udp of a loop of its own, run until every send is out.
 */
function sendRaw(port: number, count: number, payload: (i: number) => Buffer): void {
  if (onWindows) {
    const loop = new Loop();
    const udp = new Udp(loop);
    for (let i = 0; i < count; i++) {
      udp.send(payload(i), HOST, port, (err) => {
        if (err !== null) throw err;
        if (i === count - 1) udp.close();
      });
    }
    loop.run();
    loop.close();
    return;
  }
  const libc = specLibc();
  const fd = openSocket(libc, AF_INET, SOCK_DGRAM);
  if (fd < 0) throw new Error(`socket: errno ${libc.errno()}`);
  const { sa } = encodeSockaddr(libc, HOST, port, 'sendto');
  try {
    for (let i = 0; i < count; i++) {
      const data = payload(i);
      const n = libc.sendto(fd, data, data.length, 0, sa, sa.length);
      if (n !== data.length) throw new Error(`sendto: errno ${libc.errno()}`);
    }
  } finally {
    closeFds(fd);
  }
}

for (const [host, family] of [
  ['127.0.0.1', 4],
  ['::1', 6],
] as const) {
  test(`datagrams both ways between two Udp handles on ${host}, with senders; empty is an empty Buffer`, (t) => {
    const loop = new Loop();
    const a = new Udp(loop).bind(host, 0);
    const b = new Udp(loop).bind(host, 0);
    const aName = a.address();
    const bName = b.address();
    t.deepEqual(aName, { address: host, port: aName.port, family });
    t.true(aName.port > 0 && bName.port > 0 && aName.port !== bName.port, 'the kernel chose the ports');

    const atB: [string, RemoteInfo | null][] = [];
    const atA: [string, RemoteInfo | null][] = [];
    const sendErrors: string[] = [];
    b.recvStart((err, data, rinfo) => {
      t.is(err, null);
      atB.push([(data as Buffer).toString(), rinfo]);
      if (atB.length === 2) {
        // Answer the sender at the address it came from.
        const from = rinfo as RemoteInfo;
        b.send(Buffer.from('pong'), from.address, from.port, (e) => sendErrors.push(codeOf(e)));
        b.recvStop();
      }
    });
    a.recvStart((err, data, rinfo) => {
      t.is(err, null);
      t.true(Buffer.isBuffer(data));
      atA.push([(data as Buffer).toString(), rinfo]);
      a.close();
      b.close();
    });
    a.send(Buffer.from(`ping over ${host}`), host, bName.port, (e) => sendErrors.push(codeOf(e)));
    a.send(new Uint8Array(0), host, bName.port, (e) => sendErrors.push(codeOf(e)));
    loop.run();

    t.deepEqual(
      atB,
      [
        [`ping over ${host}`, aName],
        ['', aName],
      ],
      'the empty datagram came as an empty Buffer',
    );
    t.deepEqual(atA, [['pong', bName]]);
    t.deepEqual(sendErrors, ['ok', 'ok', 'ok']);
    closeLoop(t, loop);
  });

  test(`a node:dgram socket and a Udp exchange datagrams both ways over ${host}, empty ones too`, async (t) => {
    const loop = new Loop();
    const udp = new Udp(loop).bind(host, 0);
    const { port } = udp.address();
    const node = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
    await new Promise<void>((resolve) => node.bind(0, host, resolve));
    const nodePort = node.address().port;

    // uvts echoes each datagram with a prefix to whoever sent it.
    const seen: [string, RemoteInfo | null][] = [];
    let echoed = 0;
    udp.recvStart((err, data, rinfo) => {
      t.is(err, null);
      seen.push([(data as Buffer).toString(), rinfo]);
      const r = rinfo as RemoteInfo;
      udp.send(Buffer.concat([Buffer.from('echo:'), data as Buffer]), r.address, r.port, (e) => {
        t.is(e, null);
        if (++echoed === 2) udp.close();
      });
    });
    const replies: [string, dgram.RemoteInfo][] = [];
    const allReplies = new Promise<void>((resolve) => {
      node.on('message', (msg, rinfo) => {
        replies.push([msg.toString(), rinfo]);
        if (replies.length === 2) resolve();
      });
    });
    node.send(Buffer.from('from node'), port, host);
    node.send(Buffer.alloc(0), port, host);
    await Promise.all([loop.runAsync(), allReplies]);
    node.close();

    t.deepEqual(
      seen.map(([text]) => text),
      ['from node', ''],
    );
    for (const [, rinfo] of seen) t.deepEqual(rinfo, { address: host, port: nodePort, family });
    t.deepEqual(
      replies.map(([text]) => text),
      ['echo:from node', 'echo:'],
    );
    for (const [, rinfo] of replies) {
      t.is(rinfo.address, host);
      t.is(rinfo.port, port);
      t.is(rinfo.family, family === 4 ? 'IPv4' : 'IPv6');
    }
    closeLoop(t, loop);
  });
}

test('a datagram over 65507 bytes fails with EMSGSIZE through its callback, later; the next one still goes', (t) => {
  const loop = new Loop();
  const receiver = new Udp(loop).bind(HOST, 0);
  const { port } = receiver.address();
  const sender = new Udp(loop);
  const got: number[] = [];
  receiver.recvStart((err, data) => {
    t.is(err, null);
    got.push((data as Buffer).length);
    receiver.close();
    sender.close();
  });
  const results: { code: string; errno?: number; syscall?: string; sync: boolean }[] = [];
  let inCall = true;
  sender.send(Buffer.alloc(65508), HOST, port, (err) => {
    results.push({ code: codeOf(err), errno: err?.errno, syscall: err?.syscall, sync: inCall });
  });
  // The largest IPv4 datagram is fine.
  sender.send(Buffer.alloc(65507, 7), HOST, port, (err) => results.push({ code: codeOf(err), sync: inCall }));
  inCall = false;
  t.deepEqual(results, [], 'no callback ran inside send()');
  loop.run();

  t.deepEqual(results, [
    { code: 'EMSGSIZE', errno: errnoOf('EMSGSIZE'), syscall: 'send', sync: false },
    { code: 'ok', sync: false },
  ]);
  t.deepEqual(got, [65507]);
  closeLoop(t, loop);
});

test("a datagram the kernel refuses (IPv6 to an IPv4 socket) reaches the callback with Node's shape", (t) => {
  const loop = new Loop();
  const v4 = new Udp(loop).bind(HOST, 0);
  let error: UVError | null | undefined;
  v4.send(Buffer.from('x'), '::1', 9, (err) => {
    error = err;
    v4.close();
  });
  t.is(error, undefined);
  loop.run();
  t.true(error instanceof UVError);
  // Linux's udp_sendmsg: an address that is not AF_INET.
  t.is(error?.code, 'EAFNOSUPPORT');
  t.true(typeof error?.errno === 'number' && error.errno < 0);
  t.is(error?.syscall, 'send');
  t.regex(error?.message ?? '', /^EAFNOSUPPORT: .*, send \(::1:9\)$/);
  closeLoop(t, loop);
});

test('send checks its arguments first: nothing is sent, no socket is made, no callback runs', (t) => {
  const loop = new Loop();
  const udp = new Udp(loop);
  let called = 0;
  const cb = (): void => {
    called++;
  };
  const data = Buffer.from('x');
  t.throws(() => udp.send('text' as unknown as Uint8Array, HOST, 9, cb), { instanceOf: TypeError });
  t.throws(() => udp.send([1, 2] as unknown as Uint8Array, HOST, 9, cb), { instanceOf: TypeError });
  t.throws(() => udp.send(data, 9 as unknown as string, 9, cb), { instanceOf: TypeError });
  uvCode(t, () => udp.send(data, 'localhost', 9, cb), 'EINVAL');
  uvCode(t, () => udp.send(data, '127.0.0.1\0', 9, cb), 'EINVAL');
  uvCode(t, () => udp.send(data, 'fe80::1%lo', 9, cb), 'EINVAL');
  t.throws(() => udp.send(data, HOST, '9' as unknown as number, cb), { instanceOf: TypeError });
  t.throws(() => udp.send(data, HOST, 65536, cb), { instanceOf: RangeError });
  t.throws(() => udp.send(data, HOST, -1, cb), { instanceOf: RangeError });
  t.throws(() => udp.send(data, HOST, 1.5, cb), { instanceOf: RangeError });
  t.throws(() => udp.send(data, HOST, 9, 'cb' as unknown as () => void), { instanceOf: TypeError });
  uvCode(t, () => udp.address(), 'EBADF');
  t.false(udp.isActive());
  loop.run();
  t.is(called, 0);
  closeLoop(t, loop);
});

test('send callbacks never run inside send(), and run in the order the datagrams were sent', (t) => {
  const loop = new Loop();
  const receiver = new Udp(loop).bind(HOST, 0);
  const { port } = receiver.address();
  const sender = new Udp(loop);
  const count = 200;
  const got: number[] = [];
  receiver.recvStart((err, data) => {
    t.is(err, null);
    got.push((data as Buffer).readUInt32BE(0));
    if (got.length === count) receiver.close();
  });
  const order: number[] = [];
  let inCall = false;
  let synchronous = 0;
  for (let i = 0; i < count; i++) {
    const data = Buffer.alloc(4);
    data.writeUInt32BE(i);
    inCall = true;
    sender.send(data, HOST, port, (err) => {
      if (inCall) synchronous++;
      t.is(err, null);
      order.push(i);
      if (order.length === count) sender.close();
    });
    inCall = false;
  }
  t.true(sender.isActive(), 'sends in flight make the handle active');
  t.is(sender.sendQueueCount, count);
  t.is(sender.sendQueueSize, count * 4);
  loop.run();
  t.is(synchronous, 0);
  t.deepEqual(order, [...Array(count).keys()]);
  t.deepEqual(got, [...Array(count).keys()], 'the datagrams left in the order sent');
  closeLoop(t, loop);
});

test("a send from a send callback waits for the next writable event, as libuv's UV_HANDLE_UDP_PROCESSING", (t) => {
  const loop = new Loop();
  const receiver = new Udp(loop).bind(HOST, 0);
  const { port } = receiver.address();
  const sender = new Udp(loop);
  let received = 0;
  receiver.recvStart(() => {
    if (++received === 3) {
      receiver.close();
      sender.close();
    }
  });
  const states: [number, boolean][] = [];
  let round = 0;
  const next = (err: UVError | null): void => {
    t.is(err, null);
    if (++round === 3) return;
    sender.send(Buffer.from('again'), HOST, port, next);
    // Not taken by the kernel inside the callback: still queued when send() returns.
    states.push([sender.sendQueueCount, sender.isActive()]);
  };
  sender.send(Buffer.from('first'), HOST, port, next);
  loop.run();
  t.deepEqual(states, [
    [1, true],
    [1, true],
  ]);
  t.is(received, 3);
  closeLoop(t, loop);
});

test('close() cancels queued sends with ECANCELED, after the one sent, before the close callback', (t) => {
  const loop = new Loop();
  const receiver = new Udp(loop).bind(HOST, 0);
  const { port } = receiver.address();
  const sender = new Udp(loop);
  const events: string[] = [];
  for (let i = 0; i < 5; i++) {
    sender.send(Buffer.from(`d${i}`), HOST, port, (err) => {
      events.push(`send ${i}: ${codeOf(err)}`);
      if (err !== null) t.is(err.syscall, 'send');
    });
  }
  sender.close(() => events.push('close'));
  t.deepEqual(events, [], 'nothing ran inside send() or close()');
  receiver.close();
  loop.run();
  // The first went to the kernel at once; the rest waited for POLLOUT.
  t.deepEqual(events, [
    'send 0: ok',
    'send 1: ECANCELED',
    'send 2: ECANCELED',
    'send 3: ECANCELED',
    'send 4: ECANCELED',
    'close',
  ]);
  closeLoop(t, loop);
});

test('a send on a closing or closed Udp reports EBADF through its callback, from the loop, and never throws', (t) => {
  const loop = new Loop();
  const udp = new Udp(loop).bind(HOST, 0);
  const { port } = udp.address();
  const events: string[] = [];
  let inCall = false;
  const send = (label: string): void => {
    inCall = true;
    udp.send(Buffer.from(label), HOST, port, (err) => {
      events.push(`${label}: ${codeOf(err)}${inCall ? ' (inside send)' : ''}`);
      if (err !== null) t.is(err.syscall, 'send');
    });
    inCall = false;
  };
  udp.close(() => {
    events.push('close');
    send('after');
  });
  send('closing');
  t.deepEqual(events, []);
  loop.run();
  t.deepEqual(events, ['closing: EBADF', 'close', 'after: EBADF']);
  // Argument checks still throw on a closed handle.
  t.throws(() => udp.send('x' as unknown as Uint8Array, HOST, port), { instanceOf: TypeError });
  loop.run();
  closeLoop(t, loop);
});

for (const mode of ['recvmmsg', 'recvfrom'] as const) {
  // recvmmsg counts 32 down by each batch of 20 it reads, as libuv's recvmmsg mode: 40 an event.
  const cap = mode === 'recvmmsg' ? 40 : 32;
  const perMode = mode === 'recvmmsg' ? unixOnly('recvmmsg is a Linux call; Windows reads a datagram a call') : test;
  perMode(`every datagram queued before one readiness event arrives in that poll, at most ${cap} with ${mode}`, (t) => {
    const was = useRecvmmsg(mode === 'recvmmsg');
    try {
      const loop = new Loop();
      const receiver = new Udp(loop).bind(HOST, 0);
      const { port } = receiver.address();
      const got: number[] = [];
      receiver.recvStart((err, data, rinfo) => {
        t.is(err, null);
        t.deepEqual(rinfo, { address: HOST, port: rinfo?.port, family: 4 });
        got.push((data as Buffer).length === 0 ? -1 : ((data as Buffer)[0] as number));
      });
      sendRaw(port, 25, (i) => (i === 7 ? Buffer.alloc(0) : Buffer.from([i])));
      const before = loop.metrics().loopCount;
      loop.run('once');
      t.is(loop.metrics().loopCount, before + 1, 'one iteration');
      t.deepEqual(
        got,
        [...Array(25).keys()].map((i) => (i === 7 ? -1 : i)),
        'all 25 in one poll, the empty one too',
      );

      got.length = 0;
      sendRaw(port, 50, (i) => Buffer.from([i]));
      loop.run('once');
      t.deepEqual(got, [...Array(cap).keys()], `${cap} on the first event`);
      loop.run('once');
      t.deepEqual(got, [...Array(50).keys()], 'the rest on the next');
      closeLoop(t, loop);
    } finally {
      useRecvmmsg(was);
    }
  });

  test(`a receive callback that throws or stops receiving loses no datagram, in order (${mode})`, (t) => {
    const was = useRecvmmsg(mode === 'recvmmsg');
    try {
      const loop = new Loop();
      const receiver = new Udp(loop).bind(HOST, 0);
      const { port } = receiver.address();
      const boom = new Error('boom');
      const got: number[] = [];
      const onData = (err: UVError | null, data: Buffer | null): void => {
        t.is(err, null);
        const i = (data as Buffer)[0] as number;
        got.push(i);
        if (i === 3) throw boom;
        if (i === 6) receiver.recvStop();
      };
      receiver.recvStart(onData);
      sendRaw(port, 10, (i) => Buffer.from([i]));
      t.throws(() => loop.run('once'), { is: boom });
      t.deepEqual(got, [0, 1, 2, 3]);
      loop.run();
      t.deepEqual(got, [0, 1, 2, 3, 4, 5, 6], 'the next run() carried on until recvStop()');
      sendRaw(port, 2, (i) => Buffer.from([10 + i]));
      receiver.recvStart(onData);
      for (let i = 0; i < 20 && got.length < 12; i++) loop.run('nowait');
      t.deepEqual(got, [...Array(12).keys()], 'after recvStart, those held first, then the newer ones');
      closeLoop(t, loop);
    } finally {
      useRecvmmsg(was);
    }
  });
}

test("with recvfrom (macOS's way), datagrams and their senders arrive as with recvmmsg", (t) => {
  const was = useRecvmmsg(false);
  try {
    const loop = new Loop();
    const a = new Udp(loop).bind('::1', 0);
    const b = new Udp(loop).bind('::1', 0);
    const seen: [string, RemoteInfo | null][] = [];
    b.recvStart((err, data, rinfo) => {
      t.is(err, null);
      seen.push([(data as Buffer).toString(), rinfo]);
      if (seen.length === 2) {
        a.close();
        b.close();
      }
    });
    a.send(Buffer.from('one'), '::1', b.address().port);
    a.send(Buffer.alloc(0), '::1', b.address().port);
    const from = a.address();
    loop.run();
    t.deepEqual(seen, [
      ['one', from],
      ['', from],
    ]);
    closeLoop(t, loop);
  } finally {
    useRecvmmsg(was);
  }
});

test("a first send binds the wildcard address of the target's family, recvStart binds 0.0.0.0; any port", (t) => {
  const loop = new Loop();
  const receiver4 = new Udp(loop).bind('127.0.0.1', 0);
  const receiver6 = new Udp(loop).bind('::1', 0);
  const sender4 = new Udp(loop);
  const sender6 = new Udp(loop);
  const froms: RemoteInfo[] = [];
  const done = (): void => {
    if (froms.length < 2) return;
    for (const h of [receiver4, receiver6, sender4, sender6]) h.close();
  };
  receiver4.recvStart((_err, _data, rinfo) => {
    froms.push(rinfo as RemoteInfo);
    done();
  });
  receiver6.recvStart((_err, _data, rinfo) => {
    froms.push(rinfo as RemoteInfo);
    done();
  });
  sender4.send(Buffer.from('4'), '127.0.0.1', receiver4.address().port);
  sender6.send(Buffer.from('6'), '::1', receiver6.address().port);
  const name4 = sender4.address();
  const name6 = sender6.address();
  t.deepEqual(name4, { address: '0.0.0.0', port: name4.port, family: 4 });
  t.deepEqual(name6, { address: '::', port: name6.port, family: 6 });
  t.true(name4.port > 0 && name6.port > 0);
  const listener = new Udp(loop).recvStart(() => t.fail('nothing is sent to it'));
  const name = listener.address();
  t.deepEqual(name, { address: '0.0.0.0', port: name.port, family: 4 });
  listener.close();
  loop.run();
  const senders = new Set(froms.map((f) => `${f.address} ${f.port}`));
  t.deepEqual(senders, new Set([`127.0.0.1 ${name4.port}`, `::1 ${name6.port}`]));
  closeLoop(t, loop);
});

test('bind: reuseAddr sets SO_REUSEADDR, two sockets share a port; ipv6Only sets IPV6_V6ONLY; errors throw', (t) => {
  const loop = new Loop();
  const first = new Udp(loop).bind(HOST, 0, { reuseAddr: true });
  const { port } = first.address();
  t.is(socketOption(t, first, SOL_SOCKET, SO_REUSEADDR), 1);
  const second = new Udp(loop).bind(HOST, port, { reuseAddr: true });
  t.is(second.address().port, port);
  const plain = new Udp(loop).bind(HOST, 0);
  t.is(socketOption(t, plain, SOL_SOCKET, SO_REUSEADDR), 0, 'not set unless asked for');
  const taken = new Udp(loop);
  uvCode(t, () => taken.bind(HOST, plain.address().port), 'EADDRINUSE');
  const elsewhere = new Udp(loop);
  // Wine 8 lets a UDP socket bind an address no interface has (it binds any address instead).
  if (onWindows) t.log('EADDRNOTAVAIL for an address no interface has went unchecked (Wine 8 binds it)');
  else uvCode(t, () => elsewhere.bind('192.0.2.200', 0), 'EADDRNOTAVAIL');
  elsewhere.close();

  const v6 = new Udp(loop).bind('::', 0, { ipv6Only: true });
  t.is(socketOption(t, v6, IPPROTO_IPV6, IPV6_V6ONLY), 1);
  const dual = new Udp(loop).bind('::', 0);
  t.is(socketOption(t, dual, IPPROTO_IPV6, IPV6_V6ONLY), 0, 'dual-stack unless asked for');

  const fresh = new Udp(loop);
  uvCode(t, () => fresh.bind(HOST, 0, { ipv6Only: true }), 'EINVAL');
  t.throws(() => fresh.bind(HOST, 0, { reuseAddr: 1 as unknown as boolean }), { instanceOf: TypeError });
  t.throws(() => fresh.bind(HOST, 0, 'reuse' as unknown as { reuseAddr: boolean }), { instanceOf: TypeError });
  t.throws(() => fresh.bind(HOST, 70000), { instanceOf: RangeError });
  uvCode(t, () => fresh.bind('example.com', 0), 'EINVAL');
  uvCode(t, () => fresh.address(), 'EBADF');
  fresh.close();
  uvCode(t, () => fresh.bind(HOST, 0), 'EINVAL');
  closeLoop(t, loop);
});

for (const [host, family] of [
  ['127.0.0.1', 4],
  ['::1', 6],
] as const) {
  test(`socket options on an IPv${family} socket reach the kernel, each checked first as libuv checks it`, (t) => {
    const loop = new Loop();
    const udp = new Udp(loop);
    // Before the socket exists, libuv's setsockopt(-1) is EBADF.
    uvCode(t, () => udp.setBroadcast(true), 'EBADF');
    uvCode(t, () => udp.setTTL(9), 'EBADF');
    uvCode(t, () => udp.setMulticastTTL(9), 'EBADF');
    uvCode(t, () => udp.setMulticastLoopback(false), 'EBADF');
    udp.bind(host, 0);
    const ipLevel = family === 4 ? IPPROTO_IP : IPPROTO_IPV6;

    t.is(udp.setBroadcast(true), udp);
    t.is(socketOption(t, udp, SOL_SOCKET, SO_BROADCAST), 1);
    udp.setBroadcast(false);
    t.is(socketOption(t, udp, SOL_SOCKET, SO_BROADCAST), 0);

    t.is(udp.setTTL(1), udp);
    t.is(socketOption(t, udp, ipLevel, family === 4 ? IP_TTL : IPV6_UNICAST_HOPS), 1);
    udp.setTTL(255);
    t.is(socketOption(t, udp, ipLevel, family === 4 ? IP_TTL : IPV6_UNICAST_HOPS), 255);

    t.is(udp.setMulticastTTL(0), udp, 'libuv takes 0 to 255');
    t.is(socketOption(t, udp, ipLevel, family === 4 ? IP_MULTICAST_TTL : IPV6_MULTICAST_HOPS), 0);
    udp.setMulticastTTL(64);
    t.is(socketOption(t, udp, ipLevel, family === 4 ? IP_MULTICAST_TTL : IPV6_MULTICAST_HOPS), 64);

    t.is(udp.setMulticastLoopback(false), udp);
    t.is(socketOption(t, udp, ipLevel, family === 4 ? IP_MULTICAST_LOOP : IPV6_MULTICAST_LOOP), 0);
    udp.setMulticastLoopback(true);
    t.is(socketOption(t, udp, ipLevel, family === 4 ? IP_MULTICAST_LOOP : IPV6_MULTICAST_LOOP), 1);

    for (const bad of [1, 'yes', null, undefined]) {
      t.throws(() => udp.setBroadcast(bad as unknown as boolean), { instanceOf: TypeError });
      t.throws(() => udp.setMulticastLoopback(bad as unknown as boolean), { instanceOf: TypeError });
    }
    for (const bad of [0, 256, -1, 1.5, NaN, Infinity]) t.throws(() => udp.setTTL(bad), { instanceOf: RangeError });
    for (const bad of [256, -1, 2.5, NaN]) t.throws(() => udp.setMulticastTTL(bad), { instanceOf: RangeError });
    t.throws(() => udp.setTTL('64' as unknown as number), { instanceOf: TypeError });
    t.throws(() => udp.setMulticastTTL(undefined as unknown as number), { instanceOf: TypeError });
    // Nothing changed on a refused call.
    t.is(socketOption(t, udp, ipLevel, family === 4 ? IP_TTL : IPV6_UNICAST_HOPS), 255);
    udp.close();
    uvCode(t, () => udp.setTTL(5), 'EBADF');
    closeLoop(t, loop);
  });
}

unixOnly(
  'dropping a group never joined is EINVAL under Wine 8 where Linux says EADDRNOTAVAIL; what real Windows says is unchecked',
)('addMembership / dropMembership join and leave IPv4 and IPv6 groups on an interface', (t) => {
  const loop = new Loop();
  const v4 = new Udp(loop);
  // No socket yet: the membership binds one to 0.0.0.0, as uv_udp_set_membership does.
  t.is(v4.addMembership('239.255.0.1', '127.0.0.1'), v4);
  t.is(v4.address().address, '0.0.0.0');
  uvCode(t, () => v4.addMembership('239.255.0.1', '127.0.0.1'), 'EADDRINUSE');
  t.is(v4.dropMembership('239.255.0.1', '127.0.0.1'), v4);
  uvCode(t, () => v4.dropMembership('239.255.0.1', '127.0.0.1'), 'EADDRNOTAVAIL');
  uvCode(t, () => v4.addMembership('127.0.0.1'), 'EINVAL'); // not a multicast address: the kernel says so
  uvCode(t, () => v4.addMembership('239.255.0.1.5'), 'EINVAL');
  uvCode(t, () => v4.addMembership('239.255.0.1', '::1'), 'EINVAL');
  uvCode(t, () => v4.addMembership('239.255.0.1', 'lo'), 'EINVAL');
  t.throws(() => v4.addMembership(5 as unknown as string), { instanceOf: TypeError });
  t.throws(() => v4.addMembership('239.255.0.1', 5 as unknown as string), { instanceOf: TypeError });

  const v6 = new Udp(loop);
  // The zone names the interface, as uv_ip6_addr reads it.
  t.is(v6.addMembership('ff02::1:3', '::1%lo'), v6);
  t.is(v6.address().address, '::');
  uvCode(t, () => v6.addMembership('ff02::1:3', '::1%lo'), 'EADDRINUSE');
  t.is(v6.dropMembership('ff02::1:3', '::1%lo'), v6);
  uvCode(t, () => v6.dropMembership('ff02::1:3', '::1%lo'), 'EADDRNOTAVAIL');
  uvCode(t, () => v6.addMembership('ff02::1:3', '127.0.0.1'), 'EINVAL');
  uvCode(t, () => v6.addMembership('ff02::1:3', 'lo'), 'EINVAL');
  v4.close();
  v6.close();
  uvCode(t, () => v6.addMembership('ff02::1:3'), 'EINVAL');
  closeLoop(t, loop);
});

test("recvStart twice is EALREADY; recvStop holds datagrams back; an unref'd receiver keeps no loop", (t) => {
  const loop = new Loop();
  const receiver = new Udp(loop).bind(HOST, 0);
  const { port } = receiver.address();
  t.false(receiver.isActive());
  const got: string[] = [];
  const onData = (err: UVError | null, data: Buffer | null): void => {
    t.is(err, null);
    got.push((data as Buffer).toString());
  };
  receiver.recvStart(onData);
  t.true(receiver.isActive());
  uvCode(t, () => receiver.recvStart(onData), 'EALREADY');
  t.throws(() => receiver.recvStart('cb' as unknown as typeof onData), { instanceOf: TypeError });
  receiver.recvStop();
  t.false(receiver.isActive());
  t.is(receiver.recvStop(), receiver, 'a second stop is a no-op');
  sendRaw(port, 2, (i) => Buffer.from(`held ${i}`));
  t.false(loop.run(), 'a stopped receiver keeps nothing alive');
  t.deepEqual(got, []);

  receiver.recvStart(onData).unref();
  t.false(loop.run(), "unref'd, it does not keep the loop running");
  receiver.ref();
  loop.run('once');
  t.deepEqual(got, ['held 0', 'held 1'], 'the datagrams waited in the kernel');
  receiver.close();
  uvCode(t, () => receiver.recvStart(onData), 'EINVAL');
  closeLoop(t, loop);
});

unixOnly("turns on Linux's IP_RECVERR through libc")(
  'a receive error reaches the callback as (err, null, null), and receiving goes on',
  (t) => {
    const loop = new Loop();
    const udp = new Udp(loop).bind(HOST, 0);
    // With IP_RECVERR, Linux hands an unconnected socket the ICMP port-unreachable its datagram
    // caused, as the error of its next receive.
    const on = new Int32Array([1]);
    t.is(specLibc().setsockopt(fdOf(udp), IPPROTO_IP, IP_RECVERR, on, 4), 0);
    const closed = new Udp(loop).bind(HOST, 0);
    const deadPort = closed.address().port;
    closed.close();
    const calls: [string, unknown, unknown][] = [];
    udp.recvStart((err, data, rinfo) => {
      calls.push([codeOf(err), data, rinfo]);
      if (err !== null) t.is(err.syscall, 'recvmsg');
      if (calls.length === 2) udp.close();
    });
    udp.send(Buffer.from('to nobody'), HOST, deadPort, (err) => {
      t.is(err, null);
      sendRaw(udp.address().port, 1, () => Buffer.from('still here'));
    });
    loop.run();
    t.is(calls.length, 2);
    t.deepEqual(calls[0], ['ECONNREFUSED', null, null]);
    t.is(calls[1]?.[0], 'ok');
    t.is(String(calls[1]?.[1]), 'still here');
    // Via libkqueue the error comes with the event (EV_EOF's fflags): libkqueue took it from the socket.
    if (viaLibkqueue(loop)) t.log('the error came with the kqueue event, not from recvfrom');
    closeLoop(t, loop);
  },
);

test('a throwing send callback loses nothing: run() passes it on and the next run() calls back the rest', (t) => {
  const loop = new Loop();
  const receiver = new Udp(loop).bind(HOST, 0);
  const { port } = receiver.address();
  const sender = new Udp(loop);
  const boom = new Error('boom');
  const order: string[] = [];
  sender.send(Buffer.from('a'), HOST, port, () => {
    order.push('a');
    throw boom;
  });
  sender.send(Buffer.from('b'), HOST, port, () => order.push('b'));
  sender.send(Buffer.from('c'), HOST, port, () => order.push('c'));
  let thrown: unknown;
  for (let i = 0; i < 100 && thrown === undefined; i++) {
    try {
      loop.run('nowait');
    } catch (err) {
      thrown = err;
    }
  }
  t.is(thrown, boom);
  t.deepEqual(order, ['a']);
  for (let i = 0; i < 100 && order.length < 3; i++) loop.run('nowait');
  t.deepEqual(order, ['a', 'b', 'c']);
  receiver.close();
  sender.close();
  closeLoop(t, loop);
});

unixOnly('reads /proc/self/fd', test.serial)(
  'no fd is left behind: /proc/self/fd is as it was before the loop',
  (t) => {
    const before = openFds();
    const loop = new Loop();
    const receiver = new Udp(loop).bind(HOST, 0);
    const { port } = receiver.address();
    let got = 0;
    receiver.recvStart(() => {
      if (++got === 2) receiver.close();
    });
    // Sockets made by bind, by a first send (IPv4 and IPv6), by recvStart and by a membership;
    // a handle that never had one.
    new Udp(loop).bind('::1', 0).close();
    const sender = new Udp(loop);
    sender.send(Buffer.from('1'), HOST, port, () => sender.close());
    const sender6 = new Udp(loop);
    sender6.send(Buffer.from('2'), '::1', port, () => sender6.close());
    new Udp(loop).recvStart(() => {}).close();
    new Udp(loop).addMembership('239.255.0.2', '127.0.0.1').close();
    new Udp(loop).close();
    const queued = new Udp(loop);
    queued.send(Buffer.from('3'), HOST, port);
    queued.send(Buffer.from('4'), HOST, port, (err) => t.is(err?.code, 'ECANCELED'));
    queued.close();
    loop.run();
    closeLoop(t, loop);
    t.deepEqual(openFds(), before);
  },
);

unixOnly('under Wine 8 a socket bound to 127.0.0.2 or 127.0.0.3 sends from 127.0.0.1; unchecked on real Windows')(
  'each datagram names its own sender as senders change, IPv4-mapped on a dual-stack socket',
  (t) => {
    const loop = new Loop();
    const receiver = new Udp(loop).bind('::', 0);
    const { port } = receiver.address();
    const senders = ['127.0.0.2', '127.0.0.3', '127.0.0.2', '::1'].map((host) => new Udp(loop).bind(host, 0));
    const expected = senders.map((s) => {
      const { address, port: from } = s.address();
      return { address: address.includes(':') ? address : `::ffff:${address}`, port: from, family: 6 };
    });
    const got: (RemoteInfo | null)[] = [];
    receiver.recvStart((err, _data, rinfo) => {
      t.is(err, null);
      got.push(rinfo);
      if (got.length < senders.length) {
        const next = senders[got.length] as Udp;
        next.send(Buffer.from('x'), next.address().family === 4 ? '127.0.0.1' : '::1', port);
      } else {
        receiver.close();
        for (const s of senders) s.close();
      }
    });
    (senders[0] as Udp).send(Buffer.from('x'), '127.0.0.1', port);
    loop.run();
    t.deepEqual(got, expected);
    closeLoop(t, loop);
  },
);
