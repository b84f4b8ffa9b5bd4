// Helpers shared by the specs. Not a spec file itself (ava runs spec/**/*.spec.ts).
import test, { type ExecutionContext, type TestFn } from 'ava';
import { tryKevent } from '../ffi/kevent.js';
import { readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { bindTable, tryLibc } from '../ffi/driver.js';
import {
  AF_UNIX,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_TCP,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_LOOP,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IP_TTL,
  O_CLOEXEC,
  O_NONBLOCK,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_BROADCAST,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_REUSEADDR,
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
  TCP_NODELAY,
  type Bound,
  type Libc,
  type Table,
} from '../ffi/libc.js';
import { WS, WS_UDP, tryWinsock, type Ws2 } from '../ffi/win32.js';
import { Async, Idle, Loop, Poll, type Handle, type Tcp, type Udp } from '../lib/index.js';
import { Worker } from 'node:worker_threads';

/** Whether the suite runs on Windows, where uvts runs on its iocp backend and has no libc. */
export const onWindows = process.platform === 'win32';

/**
 * A spec that does not apply on Windows: ava's `test` (or the `base` given, e.g. `test.serial`)
 * elsewhere; on Windows the same registration made with `.skip`, its title followed by the
 * reason, so the skip shows in ava's output with why. Reasons say which: "Unix only: AF_UNIX
 * paths", or what the spec needs that Windows lacks ("reads the options back with libc").
 */
export function unixOnly<T extends TestFn | TestFn['serial']>(reason: string, base: T = test as T): T {
  if (!onWindows) return base;
  const skip = base.skip as (title: string, ...rest: unknown[]) => void;
  return ((title: string, ...rest: unknown[]) => skip(`${title} [skipped on Windows: ${reason}]`, ...rest)) as T;
}

/**
 * A spec that applies on Windows only (the iocp backend's own behaviour): ava's `test` (or the
 * `base` given) on Windows; elsewhere the same registration made with `.skip`, its title
 * followed by the reason, as {@link unixOnly} does the other way.
 */
export function windowsOnly<T extends TestFn | TestFn['serial']>(reason: string, base: T = test as T): T {
  if (onWindows) return base;
  const skip = base.skip as (title: string, ...rest: unknown[]) => void;
  return ((title: string, ...rest: unknown[]) => skip(`${title} [skipped off Windows: ${reason}]`, ...rest)) as T;
}

/**
 * For a spec file none of whose specs apply on Windows: ava's `test` elsewhere; on Windows one
 * skipped test naming the reason is registered, and a stand-in is returned that registers
 * nothing else except `test.after` hooks (which clean up what the file made when it loaded).
 */
export function unixOnlyFile(reason: string): TestFn {
  if (!onWindows) return test;
  test.skip(`every spec of this file [skipped on Windows: ${reason}]`, () => {});
  const standIn: TestFn = new Proxy(() => {}, {
    get: (_target, key) => (key === 'after' ? test.after : standIn),
    apply: () => undefined,
  }) as unknown as TestFn;
  return standIn;
}

/**
 * The end of every spec, as libuv's tests end: close whatever is still open, let the closing
 * phase run, and check that loop.close() succeeds, which proves that nothing was left behind.
 */
export function closeLoop(t: ExecutionContext, loop: Loop): void {
  loop.walk((h: Handle) => {
    if (!h.isClosing()) h.close();
  });
  loop.run();
  t.notThrows(() => loop.close(), 'loop.close() succeeds once every handle is closed');
}

/**
 * A loop whose poll never blocks: an active idle handle makes the poll timeout 0 even when
 * unref'd, so a lone prepare or check handle keeps iterating instead of sleeping with no limit
 * (as it would in libuv too).
 */
export function spinningLoop(): Loop {
  const loop = new Loop();
  new Idle(loop).start(() => {}).unref();
  return loop;
}

/** Busy-waits for `ms` of wall time: a callback that is slow, as in libuv's tests. */
export function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** Runs `fn`, expecting it to throw a UVError with `code`, a negative errno and a syscall. */
export function uvCode(t: ExecutionContext, fn: () => unknown, code: string): void {
  const err = t.throws(fn) as { code?: unknown; errno?: unknown; syscall?: unknown } | undefined;
  t.is(err?.code, code);
  t.true(typeof err?.errno === 'number' && err.errno < 0, 'errno is negative');
  t.is(typeof err?.syscall, 'string');
}

/** libc through the driver the suite runs under (UVTS_FFI), for making fds to poll. */
export function specLibc(): Libc {
  const libc = tryLibc();
  if (libc instanceof Error) throw libc;
  return libc;
}

/**
 * A connected pair of non-blocking stream sockets: Unix sockets from socketpair(); on Windows,
 * which has no AF_UNIX socketpair for uvts to call, a loopback TCP connection of Winsock SOCKETs
 * (what Poll takes there). readFd, writeFd and closeFds take either.
 */
export function socketPair(): [number, number] {
  if (onWindows) return winsockPair();
  const libc = specLibc();
  const fds = new Int32Array(2);
  if (libc.socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) !== 0)
    throw new Error(`socketpair: errno ${libc.errno()}`);
  return [fds[0] as number, fds[1] as number];
}

/** A pipe: [read end, write end], non-blocking. */
export function pipePair(): [number, number] {
  const libc = specLibc();
  const fds = new Int32Array(2);
  if (libc.pipe2(fds, O_NONBLOCK | O_CLOEXEC) !== 0) throw new Error(`pipe2: errno ${libc.errno()}`);
  return [fds[0] as number, fds[1] as number];
}

export function writeFd(fd: number, text: string): number {
  if (onWindows) return specWinsock().send(fd, Buffer.from(text), Buffer.byteLength(text), 0);
  return specLibc().write(fd, Buffer.from(text), Buffer.byteLength(text));
}

export function readFd(fd: number, max = 4096): string {
  const buf = Buffer.alloc(max);
  const n = onWindows ? specWinsock().recv(fd, buf, max, 0) : specLibc().read(fd, buf, max);
  return n > 0 ? buf.toString('utf8', 0, n) : '';
}

export function closeFds(...fds: number[]): void {
  for (const fd of fds) {
    if (onWindows) specWinsock().closesocket(fd);
    else specLibc().close(fd);
  }
}

// The blocking Winsock calls the specs make their sockets with on Windows (uvts itself makes
// only overlapped calls, ffi/win32.ts), bound through the same driver.
const SPEC_WINSOCK = {
  connect: { ret: 'int', params: ['long', 'in', 'int'], only: ['win32'] },
  accept: { ret: 'long', params: ['long', 'ptr', 'ptr'], only: ['win32'] },
  send: { ret: 'int', params: ['long', 'in', 'int', 'int'], only: ['win32'] },
  recv: { ret: 'int', params: ['long', 'out', 'int', 'int'], only: ['win32'] },
  getsockopt: { ret: 'int', params: ['long', 'int', 'int', 'out', 'inout'], only: ['win32'] },
} as const satisfies Table;

/**
 * The socket options the specs read back from the kernel, numbered as the platform numbers them
 * (Linux's and the BSDs' from ffi/libc.ts, Winsock's from ffi/win32.ts). TCP_KEEPIDLE is
 * Winsock's TCP_KEEPALIVE, the idle seconds.
 */
export const SOCKOPT = onWindows
  ? {
      SOL_SOCKET: WS.SOL_SOCKET,
      IPPROTO_IP: WS_UDP.IPPROTO_IP,
      IPPROTO_IPV6: WS.IPPROTO_IPV6,
      IPPROTO_TCP: WS.IPPROTO_TCP,
      SO_BROADCAST: WS_UDP.SO_BROADCAST,
      SO_KEEPALIVE: WS.SO_KEEPALIVE,
      SO_LINGER: 0x80,
      SO_REUSEADDR: WS_UDP.SO_REUSEADDR,
      TCP_NODELAY: WS.TCP_NODELAY,
      TCP_KEEPIDLE: WS.TCP_KEEPALIVE,
      TCP_KEEPINTVL: WS.TCP_KEEPINTVL,
      TCP_KEEPCNT: WS.TCP_KEEPCNT,
      IP_TTL: WS_UDP.IP_TTL,
      IP_MULTICAST_TTL: WS_UDP.IP_MULTICAST_TTL,
      IP_MULTICAST_LOOP: WS_UDP.IP_MULTICAST_LOOP,
      IPV6_V6ONLY: WS.IPV6_V6ONLY,
      IPV6_UNICAST_HOPS: WS_UDP.IPV6_UNICAST_HOPS,
      IPV6_MULTICAST_HOPS: WS_UDP.IPV6_MULTICAST_HOPS,
      IPV6_MULTICAST_LOOP: WS_UDP.IPV6_MULTICAST_LOOP,
    }
  : {
      SOL_SOCKET,
      IPPROTO_IP,
      IPPROTO_IPV6,
      IPPROTO_TCP,
      SO_BROADCAST,
      SO_KEEPALIVE,
      SO_LINGER,
      SO_REUSEADDR,
      TCP_NODELAY,
      TCP_KEEPIDLE,
      TCP_KEEPINTVL,
      TCP_KEEPCNT,
      IP_TTL,
      IP_MULTICAST_TTL,
      IP_MULTICAST_LOOP,
      IPV6_V6ONLY,
      IPV6_UNICAST_HOPS,
      IPV6_MULTICAST_HOPS,
      IPV6_MULTICAST_LOOP,
    };

/**
 * The socket under a Tcp or Udp handle: its fd on Unix; on the iocp backend, the SOCKET its
 * transport holds (lib/backend/iocp-socket.ts, iocp-udp.ts); -1 while it has none.
 */
export function socketOf(handle: Tcp | Udp): number {
  const h = handle as unknown as { fd: number; transport: { sock: number } | null | undefined };
  return h.transport ? h.transport.sock : h.fd;
}

/** getsockopt of an int option of a handle's socket, through libc or Winsock; fails the spec if the call does. */
export function socketOption(t: ExecutionContext, handle: Tcp | Udp, level: number, name: number): number {
  const value = socketOptionOrNull(handle, level, name);
  t.not(value, null, `getsockopt(${level}, ${name})`);
  return value ?? Number.NaN;
}

/** getsockopt of an int option of a handle's socket: its value, or null if the call failed. */
export function socketOptionOrNull(handle: Tcp | Udp, level: number, name: number): number | null {
  const value = new Int32Array(1);
  const length = new Int32Array([4]);
  const sock = socketOf(handle);
  const r = onWindows
    ? specWinsock().getsockopt(sock, level, name, value, length)
    : specLibc().getsockopt(sock, level, name, value, length);
  if (r !== 0) return null;
  // Windows answers some options (TCP_NODELAY) in a single byte; the rest of the int stays 0.
  return length[0] === 1 ? (value[0] as number) & 0xff : (value[0] as number);
}

/**
 * Sets SO_LINGER with a zero timeout on a handle's socket, so that closing it resets the peer
 * (RST, not FIN). struct linger is two ints on Unix and two u_shorts on Windows.
 */
export function lingerZero(handle: Tcp): number {
  const sock = socketOf(handle);
  if (onWindows)
    return specWinsock().setsockopt(
      sock,
      SOCKOPT.SOL_SOCKET,
      SOCKOPT.SO_LINGER,
      new Uint8Array(new Uint16Array([1, 0]).buffer),
      4,
    );
  return specLibc().setsockopt(sock, SOL_SOCKET, SO_LINGER, new Int32Array([1, 0]), 8);
}

type SpecWinsock = Bound<typeof SPEC_WINSOCK> & Ws2;
let specWs: SpecWinsock | undefined;

function specWinsock(): SpecWinsock {
  if (specWs !== undefined) return specWs;
  const ws = tryWinsock();
  if (ws instanceof Error) throw ws;
  specWs = Object.assign({}, ws.ws2, bindTable(SPEC_WINSOCK, ['ws2_32.dll'], 'uvts:spec-ws2_32'));
  return specWs;
}

/** A loopback TCP connection on Windows: [the connecting socket, the accepted one], non-blocking. */
function winsockPair(): [number, number] {
  const ws = specWinsock();
  const socket = (): number => {
    const s = ws.WSASocketW(WS.AF_INET, WS.SOCK_STREAM, WS.IPPROTO_TCP, 0, 0, WS.WSA_FLAG_OVERLAPPED);
    if (s === WS.INVALID_SOCKET) throw new Error(`WSASocketW: Winsock error ${ws.WSAGetLastError()}`);
    return s;
  };
  // sockaddr_in for 127.0.0.1, port 0 (ffi/win32.ts's WIN_SOCKADDR_IN).
  const sa = new Uint8Array([2, 0, 0, 0, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  const len = new Int32Array([sa.length]);
  const listener = socket();
  try {
    if (ws.bind(listener, sa, sa.length) !== 0 || ws.listen(listener, 1) !== 0)
      throw new Error(`bind or listen: Winsock error ${ws.WSAGetLastError()}`);
    if (ws.getsockname(listener, sa, len) !== 0) throw new Error(`getsockname: Winsock error ${ws.WSAGetLastError()}`);
    const a = socket();
    if (ws.connect(a, sa, sa.length) !== 0) throw new Error(`connect: Winsock error ${ws.WSAGetLastError()}`);
    const b = ws.accept(listener, 0, 0);
    if (b === WS.INVALID_SOCKET) throw new Error(`accept: Winsock error ${ws.WSAGetLastError()}`);
    const on = new Uint8Array([1, 0, 0, 0]);
    for (const s of [a, b]) {
      if (ws.ioctlsocket(s, WS.FIONBIO, on) !== 0) throw new Error(`FIONBIO: Winsock error ${ws.WSAGetLastError()}`);
    }
    return [a, b];
  } finally {
    ws.closesocket(listener);
  }
}

/** The fds this process has open, from /proc/self/fd (Linux). */
export function openFds(): string[] {
  settleKqueueFds();
  return readdirSync('/proc/self/fd').sort();
}

/**
 * The fds open now that were not in `before` (an openFds() list): what was opened since and not
 * closed. An fd that closed meanwhile is no leak of the spec's (a pool thread an earlier spec
 * started may still be winding down and closing its own), so it is not counted.
 */
export function fdsOpenedSince(before: readonly string[]): string[] {
  const was = new Set(before);
  return openFds().filter((fd) => !was.has(fd));
}

/** Whether `loop` polls through libkqueue, whose differences from a real kqueue some specs name. */
export function viaLibkqueue(loop: { backend: string }): boolean {
  return loop.backend === 'kqueue' && process.platform === 'linux';
}

let kqueueWarm = false;

/**
 * Under libkqueue (UVTS_KQUEUE_LIB), fds are counted as a real kqueue would leave them: its
 * first kqueue() opens 2 fds that live as long as the process, so one is made (and closed)
 * before any count; and close(kq) frees some fds later, from a thread, so those are drained.
 */
export function settleKqueueFds(): void {
  if (process.platform !== 'linux' || !process.env.UVTS_KQUEUE_LIB) return;
  const kev = tryKevent();
  if (kev instanceof Error) throw kev;
  if (!kqueueWarm) {
    kqueueWarm = true;
    const kq = kev.kqueue();
    if (kq < 0) throw new Error(`kqueue() failed: errno ${specLibc().errno()}`);
    specLibc().close(kq);
  }
  kev.libkqueue_drain_pending_close();
}

/**
 * A worker sends `rounds` times to an Async of `loop`, each send only once the loop has run the
 * last callback and gone back to sleep, so every send must wake a loop blocked in its kernel
 * (a watched fd that never becomes ready keeps it there, not on the futex). Resolves once the
 * loop has run dry and the worker has exited, with both checked.
 */
export async function wakeFromKernelEveryTime(t: ExecutionContext, loop: Loop, rounds: number): Promise<void> {
  const [a, b] = socketPair();
  const idle = new Poll(loop, a).start(Poll.READABLE, () => t.fail('nothing is written'));
  const shared = new Int32Array(new SharedArrayBuffer(4));
  const async = new Async(loop, (h) => {
    const done = Atomics.add(shared, 0, 1) + 1;
    Atomics.notify(shared, 0);
    if (done === rounds) {
      h.close();
      idle.close();
    }
  });
  const worker = new Worker(new URL('./fixtures/async-sender.js', import.meta.url), {
    workerData: { mode: 'ping-pong', sender: async.sender(), shared, index: 0, rounds },
  });
  const exited = new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', resolve);
  });
  t.false(loop.run());
  t.is(Atomics.load(shared, 0), rounds);
  t.is(await exited, 0);
  closeFds(a, b);
}
