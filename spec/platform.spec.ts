// The platform layer: how sockets are made non-blocking and close-on-exec (libuv's uv__socket,
// uv__accept, uv__nonblock), and sockaddrs laid out per platform. macOS's way (socket or accept,
// then fcntl) runs here on Linux too, so that path is exercised without a Mac.
import { readFileSync } from 'node:fs';
import { AF_INET, EAGAIN, O_CLOEXEC, O_NONBLOCK, SOCK_STREAM } from '../ffi/libc.js';
import { darwin } from '../ffi/os/darwin.js';
import { freebsd } from '../ffi/os/freebsd.js';
import { linux } from '../ffi/os/linux.js';
import { acceptSocket, acceptThenSettle, openSocket, openThenSettle, setNonBlocking } from '../lib/backend/socket.js';
import { encodeSockaddr, writeSockaddrHead } from '../lib/sockaddr.js';
import { closeFds, specLibc, unixOnlyFile } from './support.js';

const test = unixOnlyFile('Unix only: fcntl flags, /proc/self/fdinfo and the sockaddr layouts of Linux, macOS and BSD');

/** The open-file flags of `fd`, from /proc/self/fdinfo (O_CLOEXEC shows there as 02000000). */
function fdFlags(fd: number): number {
  const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  return Number.parseInt(/flags:\s*([0-7]+)/.exec(info)?.[1] ?? 'x', 8);
}

function nonBlockingCloexec(fd: number): boolean {
  const flags = fdFlags(fd);
  return (flags & O_NONBLOCK) !== 0 && (flags & O_CLOEXEC) !== 0;
}

test("a socket made as on macOS (socket, then fcntl) is non-blocking and close-on-exec, as Linux's flags make it", (t) => {
  const libc = specLibc();
  const atomic = openSocket(libc, AF_INET, SOCK_STREAM);
  const settled = openThenSettle(libc, AF_INET, SOCK_STREAM);
  t.true(atomic >= 0 && settled >= 0);
  t.true(nonBlockingCloexec(atomic));
  t.true(nonBlockingCloexec(settled));
  // Failure is -1 with errno, as from socket() itself.
  t.is(openThenSettle(libc, 12345, SOCK_STREAM), -1);
  t.true(libc.errno() > 0);
  closeFds(atomic, settled);
});

test('a connection accepted as on macOS (accept, then fcntl) is non-blocking and close-on-exec; none waiting is EAGAIN', (t) => {
  const libc = specLibc();
  const server = openSocket(libc, AF_INET, SOCK_STREAM);
  const { sa } = encodeSockaddr(libc, '127.0.0.1', 0, 'bind');
  t.is(libc.bind(server, sa, sa.length), 0);
  t.is(libc.listen(server, 4), 0);
  const name = new Uint8Array(128);
  const nameLen = new Int32Array([128]);
  t.is(libc.getsockname(server, name, nameLen), 0);
  const peer = new Uint8Array(128);
  const peerLen = new Int32Array([128]);
  t.is(acceptThenSettle(libc, server, peer, peerLen), -1, 'nothing waits');
  t.is(libc.errno(), EAGAIN);
  const clients: number[] = [];
  const accepted: number[] = [];
  for (const accept of [acceptSocket, acceptThenSettle]) {
    const client = openSocket(libc, AF_INET, SOCK_STREAM);
    clients.push(client);
    libc.connect(client, name, nameLen[0] as number); // EINPROGRESS on a non-blocking socket
    let fd = -1;
    for (let i = 0; i < 1000 && fd < 0; i++) {
      peerLen[0] = 128;
      fd = accept(libc, server, peer, peerLen);
    }
    t.true(fd >= 0, `${accept.name} took the connection`);
    t.true(nonBlockingCloexec(fd), accept.name);
    accepted.push(fd);
  }
  closeFds(server, ...clients, ...accepted);
});

test('setNonBlocking (uv__nonblock) turns on O_NONBLOCK of a blocking fd', (t) => {
  const libc = specLibc();
  const fds = new Int32Array(2);
  t.is(libc.pipe2(fds, 0), 0, 'a blocking pipe');
  const [r, w] = [fds[0] as number, fds[1] as number];
  t.is(fdFlags(r) & O_NONBLOCK, 0);
  t.is(setNonBlocking(libc, r), 0);
  t.not(fdFlags(r) & O_NONBLOCK, 0);
  t.is(setNonBlocking(libc, 1 << 20), -1, 'not an fd');
  closeFds(r, w);
});

test("sockaddr heads as each platform lays them out: BSD's length byte and one-byte family, Linux's u16 family", (t) => {
  const head = (platform: typeof linux, family: 4 | 6): number[] => {
    const u8 = new Uint8Array(32).fill(0xee);
    writeSockaddrHead(u8, 4, family, platform);
    return [...u8.subarray(4, 6)];
  };
  t.deepEqual(head(linux, 4), [linux.AF_INET, 0]);
  t.deepEqual(head(linux, 6), [linux.AF_INET6, 0]);
  for (const bsd of [darwin, freebsd]) {
    t.deepEqual(head(bsd, 4), [bsd.SOCKADDR_IN.size, bsd.AF_INET], bsd.name);
    t.deepEqual(head(bsd, 6), [bsd.SOCKADDR_IN6.size, bsd.AF_INET6], bsd.name);
  }
  t.not(darwin.AF_INET6, freebsd.AF_INET6, 'AF_INET6 is 30 on macOS, 28 on FreeBSD: from each table, never shared');
  // The host and port as libc reads them back: this platform's head makes a sockaddr bind accepts.
  const libc = specLibc();
  const { sa } = encodeSockaddr(libc, '::1', 0, 'bind');
  const fd = openSocket(libc, linux.AF_INET6, SOCK_STREAM);
  t.is(libc.bind(fd, sa, sa.length), 0);
  closeFds(fd);
});
