// Pipe over Stream (lib/handles/pipe.ts), after libuv's test-pipe-*.c and test-ping-pong.c: Unix
// domain stream sockets under a temp dir of this file's own, or on Windows named pipes with
// names of this run's own (pipeName), each spec one loop that ends with every handle closed and
// loop.close() succeeding. node:net peers share the thread through runAsync(). Sizes are kept
// so that the ffi-rs driver (~15 µs a call) stays quick.
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AF_UNIX, SOCKADDR_UN, SOCK_STREAM } from '../ffi/libc.js';
import { darwin } from '../ffi/os/darwin.js';
import { freebsd } from '../ffi/os/freebsd.js';
import { linux } from '../ffi/os/linux.js';
import { openSocket } from '../lib/backend/socket.js';
import { errnoOf } from '../lib/errors.js';
import { Loop, Pipe, UVError } from '../lib/index.js';
import { decodeSockaddrUn, encodeSockaddrUn } from '../lib/sockaddr.js';
import test from 'ava';
import { closeLoop, onWindows, pipePair, settleKqueueFds, socketPair, specLibc, uvCode, unixOnly } from './support.js';

/** Specs of AF_UNIX sockets alone: socket files, sun_path, abstract names, socketpair, pipe2. */
const unixTest = unixOnly('Unix only: AF_UNIX socket files, sun_path, socketpair and pipe2');
/** Specs with a node:net peer on Node's loop: runAsync() while a Pipe has I/O in flight. */
const netTest = unixOnly('runAsync() with overlapped I/O pending is not built on the iocp backend (ENOSYS)');
/** Specs of named pipes alone. */
const windowsTest = onWindows ? test : test.skip;

const LINUX = process.platform === 'linux';
const root = mkdtempSync(join(tmpdir(), 'uvts-pipe-'));
let made = 0;

test.after.always(() => rmSync(root, { recursive: true, force: true }));

/** A directory of its own for one spec, under this file's temp dir. */
function dir(): string {
  return mkdtempSync(join(root, `${made++}-`));
}

/**
 * A pipe name no other spec or run uses: a path in a directory of its own on Unix, a
 * `\\.\pipe\uvts-<pid>-<n>-<what>` name on Windows (named pipes live in their own namespace).
 */
function pipeName(what: string): string {
  if (onWindows) return `\\\\.\\pipe\\uvts-${process.pid}-${made++}-${what}`;
  return join(dir(), `${what}.sock`);
}

/** A name in Linux's abstract namespace that no other run of this file uses. */
function abstractName(what: string): string {
  return `\0uvts-pipe-spec-${process.pid}-${what}`;
}

function codeOf(err: UVError | null): string {
  return err === null ? 'ok' : err.code;
}

/** This process's open fds and what each refers to, leaving out the directory listing itself. */
function openFds(): string[] {
  settleKqueueFds();
  const entries: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // readdir's own fd, closed by now
    }
    if (/^\/proc\/\d+\/fd$/.test(target)) continue;
    entries.push(`${fd} -> ${target}`);
  }
  return entries.sort();
}

/** An echo server on `path`: each connection writes back what it reads and closes at EOF. */
function echoServer(loop: Loop, path: string): Pipe {
  const server = new Pipe(loop).bind(path);
  server.listen(128, (err) => {
    if (err !== null) throw err;
    const conn = new Pipe(loop);
    server.accept(conn);
    conn.readStart((readErr, data) => {
      if (readErr !== null) throw readErr;
      if (data === null) conn.shutdown(() => conn.close());
      else conn.write(data);
    });
  });
  return server;
}

/** A socket file nobody listens on: bound by a socket that then closed, as a crashed server leaves it. */
function staleSocketFile(path: string): void {
  const libc = specLibc();
  const fd = openSocket(libc, AF_UNIX, SOCK_STREAM);
  const { sa, len } = encodeSockaddrUn(Buffer.from(path));
  const r = libc.bind(fd, sa, len);
  libc.close(fd);
  if (r !== 0) throw new Error(`bind ${path}: errno ${libc.errno()}`);
}

unixTest(
  'an echo server and client: each end names the other as the other names itself; close removes the socket file',
  (t) => {
    const loop = new Loop();
    const path = join(dir(), 'echo.sock');
    const message = Buffer.from(`over ${path}: ${'the quick brown fox '.repeat(200)}`);
    const server = new Pipe(loop).bind(path);
    t.is(server.address(), path);
    t.true(statSync(path).isSocket(), 'bind made the socket file');
    let serverSide: { local: string; remote: string } | undefined;
    server.listen(8, (err) => {
      t.is(err, null);
      const conn = new Pipe(loop);
      server.accept(conn);
      server.close();
      serverSide = { local: conn.address(), remote: conn.remoteAddress() };
      conn.readStart((readErr, data) => {
        t.is(readErr, null);
        if (data === null) conn.shutdown(() => conn.close());
        else conn.write(data);
      });
    });

    const client = new Pipe(loop);
    let clientSide: { local: string; remote: string } | undefined;
    const received: Buffer[] = [];
    let eof = false;
    client.connect(path, (err) => {
      t.is(err, null);
      clientSide = { local: client.address(), remote: client.remoteAddress() };
      client.readStart((readErr, data) => {
        t.is(readErr, null);
        if (data === null) {
          eof = true;
          client.close();
        } else {
          received.push(data);
        }
      });
      client.write(message, (writeErr) => t.is(writeErr, null));
      client.shutdown((shutErr) => t.is(shutErr, null));
    });
    loop.run();

    t.true(eof, 'the client read the echo to its end');
    t.true(Buffer.concat(received).equals(message), 'the echo is the message');
    t.deepEqual(
      serverSide,
      { local: path, remote: '' },
      "the accepted end has the server's name; the client is unnamed",
    );
    t.deepEqual(clientSide, { local: '', remote: path });
    t.false(existsSync(path), 'closing the server removed the socket file (uv__pipe_close)');
    closeLoop(t, loop);
  },
);

test('1000 ping-pongs on one pipe, each message reassembled however the stream cuts it', (t) => {
  const loop = new Loop();
  const rounds = 1000;
  const path = pipeName('ping');
  const server = new Pipe(loop).bind(path);
  server.listen(1, () => {
    const conn = new Pipe(loop);
    server.accept(conn);
    server.close();
    conn.readStart((err, data) => {
      if (err !== null) throw err;
      if (data === null) {
        conn.close();
        return;
      }
      // Echoed in two writes, so the client may see a message in two reads.
      const cut = data.length >> 1;
      conn.write(data.subarray(0, cut));
      conn.write(data.subarray(cut));
    });
  });

  const client = new Pipe(loop);
  let round = 0;
  let expected = Buffer.alloc(0);
  let pending = Buffer.alloc(0);
  const wrong: string[] = [];
  const send = (): void => {
    expected = Buffer.from(`ping ${round} ${'.'.repeat(round % 61)}\n`);
    client.write(expected);
  };
  client.connect(path, (err) => {
    t.is(err, null);
    client.readStart((readErr, data) => {
      if (readErr !== null) throw readErr;
      if (data === null) {
        wrong.push(`EOF in round ${round}`);
        client.close();
        return;
      }
      pending = Buffer.concat([pending, data]);
      if (pending.length < expected.length) return;
      // One message is in flight at a time: more than it would be a framing bug.
      if (!pending.equals(expected)) wrong.push(`round ${round}: ${JSON.stringify(pending.toString())}`);
      pending = Buffer.alloc(0);
      if (++round === rounds) client.close();
      else send();
    });
    send();
  });
  loop.run();

  t.deepEqual(wrong, []);
  t.is(round, rounds);
  closeLoop(t, loop);
});

test('64 MiB from client to server arrive whole: the same SHA-256 and byte count', (t) => {
  const loop = new Loop();
  const size = 64 * 1024 * 1024;
  const chunkSize = 256 * 1024;
  const window = 8; // writes in flight at once
  const data = randomBytes(size);
  const expected = createHash('sha256').update(data).digest('hex');
  const path = pipeName('pump');

  const hash = createHash('sha256');
  let bytes = 0;
  let reads = 0;
  let digest = '';
  const server = new Pipe(loop).bind(path);
  server.listen(1, () => {
    const conn = new Pipe(loop);
    server.accept(conn);
    server.close();
    conn.readStart((err, chunk) => {
      if (err !== null) throw err;
      if (chunk === null) {
        digest = hash.digest('hex');
        conn.close();
        return;
      }
      reads++;
      bytes += chunk.length;
      hash.update(chunk);
    });
  });

  const client = new Pipe(loop);
  let offset = 0;
  let inFlight = 0;
  const writeResults: string[] = [];
  let shutdownResult = '';
  let writesBeforeShutdown = -1;
  let clientEof = false;
  const pump = (): void => {
    while (inFlight < window && offset < size) {
      const chunk = data.subarray(offset, offset + chunkSize);
      offset += chunk.length;
      inFlight++;
      client.write(chunk, (err) => {
        inFlight--;
        writeResults.push(codeOf(err));
        pump();
      });
    }
    if (offset === size && shutdownResult === '') {
      shutdownResult = 'pending';
      client.shutdown((err) => {
        shutdownResult = codeOf(err);
        writesBeforeShutdown = writeResults.length;
      });
    }
  };
  client.connect(path, (err) => {
    t.is(err, null);
    client.readStart((readErr, chunk) => {
      t.is(readErr, null);
      t.is(chunk, null, 'the server sends nothing');
      clientEof = true;
      client.close();
    });
    pump();
  });
  loop.run();

  t.is(bytes, size);
  t.is(digest, expected);
  t.true(reads > 1, 'it came in many reads');
  t.is(writeResults.length, size / chunkSize);
  t.true(
    writeResults.every((r) => r === 'ok'),
    'every write succeeded',
  );
  t.is(shutdownResult, 'ok');
  t.is(writesBeforeShutdown, size / chunkSize, 'the shutdown callback came after every write callback');
  t.true(clientEof);
  closeLoop(t, loop);
});

netTest('a node:net server on a path and a uvts Pipe client: 200 ping-pongs in one thread', async (t) => {
  const path = join(dir(), 'net-server.sock');
  const serverSide: string[] = [];
  const server = net.createServer((conn) => {
    conn.on('data', (d: Buffer) => conn.write(d));
    conn.on('end', () => {
      serverSide.push('end');
      conn.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));

  const loop = new Loop();
  const client = new Pipe(loop);
  const rounds = 200;
  let pongs = 0;
  let got = '';
  let eof = false;
  let remote = '';
  client.connect(path, (err) => {
    t.is(err, null);
    remote = client.remoteAddress();
    client.readStart((readErr, data) => {
      t.is(readErr, null);
      if (data === null) {
        eof = true;
        client.close();
        return;
      }
      got += data.toString();
      if (got.length < 4) return;
      t.is(got, 'ping');
      got = '';
      if (++pongs === rounds) client.shutdown();
      else client.write(Buffer.from('ping'));
    });
    client.write(Buffer.from('ping'));
  });
  t.false(await loop.runAsync());
  await new Promise<void>((resolve) => server.close(() => resolve()));

  t.is(pongs, rounds);
  t.true(eof, 'the net server ended its side after the uvts shutdown');
  t.deepEqual(serverSide, ['end']);
  t.is(remote, path);
  closeLoop(t, loop);
});

netTest('a uvts Pipe server and a node:net client on its path: 200 ping-pongs in one thread', async (t) => {
  const path = join(dir(), 'uvts-server.sock');
  const loop = new Loop();
  const server = new Pipe(loop).bind(path);
  let echoed = 0;
  server.listen(8, (err) => {
    t.is(err, null);
    const conn = new Pipe(loop);
    server.accept(conn);
    server.close();
    conn.readStart((readErr, data) => {
      t.is(readErr, null);
      if (data === null) {
        conn.shutdown(() => conn.close());
        return;
      }
      echoed += data.length;
      conn.write(data);
    });
  });
  const rounds = 200;
  let pongs = 0;
  let got = '';
  const client = net.connect({ path }, () => client.write('ping'));
  client.on('data', (d: Buffer) => {
    got += d.toString();
    if (got.length < 4) return;
    t.is(got, 'ping');
    got = '';
    if (++pongs === rounds) client.end();
    else client.write('ping');
  });
  const closed = new Promise<boolean>((resolve, reject) => {
    client.on('error', reject);
    client.on('close', resolve);
  });
  t.false(await loop.runAsync());
  t.false(await closed, 'the net client closed without an error');

  t.is(pongs, rounds);
  t.is(echoed, rounds * 4);
  t.false(existsSync(path), 'the socket file went with the server');
  closeLoop(t, loop);
});

test('connect to a name nobody holds: ENOENT reaches the callback, never inside connect()', (t) => {
  const loop = new Loop();
  const path = pipeName('nobody-here');
  const client = new Pipe(loop);
  let error: UVError | null | undefined;
  client.connect(path, (err) => {
    error = err;
    client.close();
  });
  t.is(error, undefined, 'connect() returned before its callback ran');
  loop.run();

  t.true(error instanceof UVError);
  t.is(error?.code, 'ENOENT');
  t.is(error?.errno, errnoOf('ENOENT'));
  t.is(error?.syscall, 'connect');
  t.is(error?.path, path);
  closeLoop(t, loop);
});

unixTest(
  'connect to a socket file nobody listens on: ECONNREFUSED through the callback; what was asked meanwhile fails after it',
  (t) => {
    const loop = new Loop();
    const path = join(dir(), 'stale.sock');
    staleSocketFile(path);
    const client = new Pipe(loop);
    let error: UVError | null | undefined;
    client.connect(path, (err) => {
      error = err;
      client.close();
    });
    t.is(error, undefined, 'connect() returned before its callback ran');

    const eager = new Pipe(loop);
    const order: string[] = [];
    eager.connect(path, (err) => order.push(`connect ${codeOf(err)}`));
    eager.write(Buffer.from('never sent'), (err) => order.push(`write ${codeOf(err)}`));
    eager.shutdown((err) => {
      order.push(`shutdown ${codeOf(err)}`);
      eager.close();
    });
    loop.run();

    t.is(error?.code, 'ECONNREFUSED');
    t.is(error?.errno, -constants.errno.ECONNREFUSED);
    t.is(error?.syscall, 'connect');
    // The shutdown is the kernel's to answer, after both: Linux's shutdown() on an unconnected
    // unix socket succeeds (TCP's is ENOTCONN), the BSDs' is ENOTCONN.
    t.deepEqual(order.slice(0, 2), ['connect ECONNREFUSED', 'write ECANCELED']);
    t.is(order.length, 3);
    t.regex(order[2] ?? '', LINUX ? /^shutdown ok$/ : /^shutdown ENOTCONN$/);
    t.true(existsSync(path), 'a client never removes the file');
    closeLoop(t, loop);
  },
);

unixTest(
  'bind to a path that is taken: EADDRINUSE from bind() itself, as uv_pipe_bind2 returns it; the file stays',
  (t) => {
    const loop = new Loop();
    const path = join(dir(), 'taken.sock');
    const first = new Pipe(loop).bind(path);
    first.listen(1, () => t.fail('nobody connects'));
    const second = new Pipe(loop);
    const err = t.throws(() => second.bind(path)) as UVError;
    t.is(err.code, 'EADDRINUSE');
    t.is(err.errno, -constants.errno.EADDRINUSE);
    t.is(err.syscall, 'bind');
    t.is(err.path, path);
    // The failed handle holds no socket and removes nothing when it closes.
    uvCode(t, () => second.address(), 'EBADF');
    second.close();
    loop.run('nowait');
    t.true(existsSync(path), "the listener's file is still there");

    // A stale socket file is taken too: the kernel does not know that nobody listens on it.
    const stale = join(dir(), 'stale.sock');
    staleSocketFile(stale);
    uvCode(t, () => new Pipe(loop).bind(stale), 'EADDRINUSE');
    // And a missing directory is EACCES, as libuv turns ENOENT (for Windows' sake).
    const missing = t.throws(() => new Pipe(loop).bind(join(dir(), 'no', 'such.sock'))) as UVError;
    t.is(missing.code, 'EACCES');
    first.close();
    closeLoop(t, loop);
    t.false(existsSync(path));
  },
);

unixTest("the abstract namespace (Linux): no file, the name with its leading NUL, and autobind for ''", (t) => {
  const loop = new Loop();
  const name = abstractName('echo');
  if (!LINUX) {
    uvCode(t, () => new Pipe(loop).bind(name), 'EINVAL');
    uvCode(t, () => new Pipe(loop).connect(name, () => t.fail('never connects')), 'EINVAL');
    uvCode(t, () => new Pipe(loop).bind(''), 'EINVAL');
    closeLoop(t, loop);
    return;
  }
  const cwd = dir();
  const before = readdirSync(cwd);
  const server = new Pipe(loop).bind(name);
  t.is(server.address(), name);
  // Another bind of the same name is taken, as a path would be.
  uvCode(t, () => new Pipe(loop).bind(name), 'EADDRINUSE');
  // The name may hold NULs of its own past the first, and is its full length: a prefix is another name.
  const withNul = new Pipe(loop).bind(`${name}\0tail`);
  t.is(withNul.address(), `${name}\0tail`);
  const auto = new Pipe(loop).bind('');
  t.regex(auto.address(), /^\0[0-9a-f]{5}$/, 'the kernel picked a name: NUL and five hex digits');
  withNul.close();
  auto.close();

  server.listen(4, (err) => {
    t.is(err, null);
    const conn = new Pipe(loop);
    server.accept(conn);
    server.close();
    t.is(conn.address(), name);
    conn.readStart((readErr, data) => {
      t.is(readErr, null);
      if (data === null) conn.close();
      else conn.write(data);
    });
  });
  const client = new Pipe(loop);
  let echo = '';
  let remote = '';
  client.connect(name, (err) => {
    t.is(err, null);
    remote = client.remoteAddress();
    client.readStart((readErr, data) => {
      t.is(readErr, null);
      if (data === null) return;
      echo += data.toString();
      client.close();
    });
    client.write(Buffer.from('abstract'));
  });
  const refused = new Pipe(loop);
  let refusal = '';
  refused.connect(abstractName('nobody'), (err) => {
    refusal = codeOf(err);
    refused.close();
  });
  loop.run();

  t.is(echo, 'abstract');
  t.is(remote, name);
  t.is(refusal, 'ECONNREFUSED', 'an abstract name nobody holds is refused (there is no file to miss)');
  t.deepEqual(readdirSync(cwd), before, 'nothing appeared in the file system');
  closeLoop(t, loop);
});

unixTest('open(fd) on a pipe(2) pair: uvts writes one end and reads the other; each end only goes its own way', (t) => {
  const loop = new Loop();
  const [r, w] = pipePair();
  const reader = new Pipe(loop).open(r);
  const writer = new Pipe(loop).open(w);
  // O_RDONLY and O_WRONLY, as fcntl F_GETFL says: not the other way.
  uvCode(t, () => reader.write(Buffer.from('x')), 'EPIPE');
  uvCode(t, () => writer.readStart(() => t.fail('a write end reads nothing')), 'ENOTCONN');
  // Neither is a socket: no name to give.
  uvCode(t, () => reader.address(), 'ENOTSOCK');
  uvCode(t, () => writer.remoteAddress(), 'ENOTSOCK');

  const message = randomBytes(300 * 1024); // more than a pipe's buffer: the writer waits for the reader
  const chunks: Buffer[] = [];
  let eof = false;
  let written = '';
  reader.readStart((err, data) => {
    t.is(err, null);
    if (data === null) {
      eof = true;
      reader.close();
    } else {
      chunks.push(data);
    }
  });
  writer.write(message, (err) => {
    written = codeOf(err);
    writer.close(); // the reader sees EOF once the write end is gone
  });
  loop.run();

  t.is(written, 'ok');
  t.true(eof);
  t.true(Buffer.concat(chunks).equals(message), 'what was written is what was read');
  closeLoop(t, loop);
});

unixTest('open(fd) on a socket: readable and writable; a uvts Pipe and a node-visible fd talk both ways', (t) => {
  const loop = new Loop();
  const [a, b] = socketPair();
  const pa = new Pipe(loop).open(a);
  const pb = new Pipe(loop).open(b);
  t.is(pa.address(), '', 'a socketpair end is unnamed');
  t.is(pa.remoteAddress(), '');
  const heard: string[] = [];
  pb.readStart((err, data) => {
    t.is(err, null);
    if (data === null) {
      heard.push('b: EOF');
      pb.write(Buffer.from('bye'), () => pb.shutdown(() => pb.close()));
      return;
    }
    heard.push(`b: ${data.toString()}`);
  });
  pa.readStart((err, data) => {
    t.is(err, null);
    if (data === null) {
      heard.push('a: EOF');
      pa.close();
      return;
    }
    heard.push(`a: ${data.toString()}`);
  });
  pa.write(Buffer.from('hello'));
  pa.shutdown();
  loop.run();
  t.deepEqual(heard, ['b: hello', 'b: EOF', 'a: bye', 'a: EOF']);
  closeLoop(t, loop);
});

unixTest(
  'open(fd) refuses: an fd not open (EBADF), one this loop watches (EEXIST), a second fd (EBUSY); nothing is taken',
  (t) => {
    const loop = new Loop();
    const [r, w] = pipePair();
    uvCode(t, () => new Pipe(loop).open(1 << 20), 'EBADF');
    const watching = new Pipe(loop).open(r);
    watching.readStart(() => t.fail('nothing is written'));
    uvCode(t, () => new Pipe(loop).open(r), 'EEXIST');
    const writer = new Pipe(loop).open(w);
    uvCode(t, () => writer.open(r), 'EBUSY');
    uvCode(t, () => writer.bind(join(dir(), 'x.sock')), 'EINVAL');
    // A regular file: epoll cannot watch it, and says so now rather than when reading starts.
    const file = join(dir(), 'regular');
    writeFileSync(file, 'data');
    const fileFd = openSync(file, 'r');
    if (loop.backend === 'epoll') {
      uvCode(t, () => new Pipe(loop).open(fileFd), 'EPERM');
      closeSync(fileFd);
    } else {
      // kqueue watches a regular file (always readable), so the handle takes it and closes it.
      new Pipe(loop).open(fileFd).close();
    }
    watching.close();
    writer.close();
    closeLoop(t, loop);
  },
);

test('closing while connecting: the connect, a write and a shutdown get ECANCELED, in order, before the close callback', (t) => {
  const loop = new Loop();
  const path = pipeName('cancel');
  const server = echoServer(loop, path);
  const client = new Pipe(loop);
  const order: string[] = [];
  client.connect(path, (err) => order.push(`connect ${codeOf(err)}`));
  client.write(Buffer.from('x'), (err) => order.push(`write ${codeOf(err)}`));
  client.shutdown((err) => order.push(`shutdown ${codeOf(err)}`));
  client.close(() => {
    order.push('close');
    server.close();
  });
  loop.run();
  t.deepEqual(order, ['connect ECANCELED', 'write ECANCELED', 'shutdown ECANCELED', 'close']);
  closeLoop(t, loop);
});

unixTest(
  "names up to sun_path's size bind and connect; one byte more is EINVAL (UV_PIPE_NO_TRUNCATE), never cut short",
  (t) => {
    const loop = new Loop();
    const base = dir();
    const fill = SOCKADDR_UN.pathSize - base.length - 1;
    const longest = join(base, 'L'.repeat(fill));
    t.is(Buffer.byteLength(longest), SOCKADDR_UN.pathSize);
    const server = echoServer(loop, longest);
    t.is(server.address(), longest, 'a name that fills sun_path comes back whole');
    const client = new Pipe(loop);
    let remote = '';
    client.connect(longest, (err) => {
      t.is(err, null);
      remote = client.remoteAddress();
      client.close();
      server.close();
    });
    const tooLong = `${longest}L`;
    const err = t.throws(() => new Pipe(loop).bind(tooLong)) as UVError;
    t.is(err.code, 'EINVAL');
    t.is(err.syscall, 'bind');
    uvCode(t, () => new Pipe(loop).connect(tooLong, () => t.fail('never connects')), 'EINVAL');
    // Bytes, not characters: a multi-byte character counts as its UTF-8 length.
    const wide = join(base, 'é'.repeat(Math.floor(fill / 2) + 1));
    t.true(wide.length <= SOCKADDR_UN.pathSize && Buffer.byteLength(wide) > SOCKADDR_UN.pathSize);
    uvCode(t, () => new Pipe(loop).bind(wide), 'EINVAL');
    loop.run();
    t.is(remote, longest);
    t.false(existsSync(tooLong), 'nothing was bound under a shortened name either');
    t.false(existsSync(tooLong.slice(0, -1)), 'the longest name went with its server');
    closeLoop(t, loop);
  },
);

unixTest('argument and state checks throw before anything reaches FFI', (t) => {
  const loop = new Loop();
  const pipe = new Pipe(loop);
  const bad: unknown[] = [undefined, null, 42, Buffer.from('/tmp/x'), {}];
  for (const value of bad) {
    t.throws(() => pipe.bind(value as string), { instanceOf: TypeError });
    t.throws(() => pipe.connect(value as string, () => {}), { instanceOf: TypeError });
  }
  t.throws(() => pipe.connect(join(root, 'x.sock'), undefined as unknown as () => void), { instanceOf: TypeError });
  t.throws(() => pipe.open('3' as unknown as number), { instanceOf: TypeError });
  t.throws(() => pipe.open(-1), { instanceOf: RangeError });
  t.throws(() => pipe.open(1.5), { instanceOf: RangeError });
  t.throws(() => pipe.listen(1.5, () => {}), { instanceOf: RangeError });
  uvCode(t, () => pipe.bind('/tmp/a\0b'), 'EINVAL');
  uvCode(t, () => pipe.connect('/tmp/a\0b', () => {}), 'EINVAL');
  uvCode(t, () => pipe.connect('', () => {}), 'EINVAL');
  // State: listen without bind, read or write without a socket, accept with nothing waiting.
  uvCode(t, () => pipe.listen(1, () => {}), 'EINVAL');
  uvCode(t, () => pipe.readStart(() => {}), 'ENOTCONN');
  uvCode(t, () => pipe.address(), 'EBADF');
  uvCode(t, () => pipe.remoteAddress(), 'EBADF');
  const path = join(dir(), 'state.sock');
  const server = new Pipe(loop).bind(path);
  uvCode(t, () => server.bind(join(dir(), 'again.sock')), 'EINVAL');
  server.listen(1, () => t.fail('nobody connects'));
  uvCode(t, () => server.accept(new Pipe(loop)), 'EAGAIN');
  uvCode(t, () => server.connect(path, () => t.fail('never called')), 'EINVAL');
  uvCode(t, () => server.write(Buffer.from('x')), 'EPIPE');
  t.throws(() => server.accept({} as Pipe), { instanceOf: TypeError });
  server.close();
  // After close: bind, listen, connect and open are EINVAL, as libuv's pipe_bind_or_listen_error_after_close.
  uvCode(t, () => server.bind(join(dir(), 'late.sock')), 'EINVAL');
  uvCode(t, () => server.listen(1, () => {}), 'EINVAL');
  uvCode(t, () => server.connect(path, () => {}), 'EINVAL');
  uvCode(t, () => server.open(0), 'EINVAL');
  t.is(pipe.type, 'pipe');
  closeLoop(t, loop);
});

test("sockaddr_un per platform: the BSD length byte and u8 family, Linux's u16 family; names read back", (t) => {
  const name = Buffer.from('/tmp/uvts.sock');
  const onLinux = encodeSockaddrUn(name, linux);
  t.is(onLinux.sa.length, 110);
  t.is(onLinux.len, 110, 'a path passes the whole struct, as libuv does');
  t.deepEqual([...onLinux.sa.subarray(0, 2)], [1, 0], 'AF_UNIX as a little-endian u16');
  t.true(Buffer.from(onLinux.sa.subarray(2, 2 + name.length)).equals(name));
  t.is(decodeSockaddrUn(onLinux.sa, onLinux.len, linux), '/tmp/uvts.sock');
  const abstract = encodeSockaddrUn(Buffer.from('\0abc'), linux);
  t.is(abstract.len, 2 + 4, 'an abstract name is as long as its bytes');
  t.is(decodeSockaddrUn(abstract.sa, abstract.len, linux), '\0abc');
  t.is(decodeSockaddrUn(abstract.sa, 2, linux), '', 'an unnamed socket');
  for (const platform of [darwin, freebsd]) {
    const { sa, len } = encodeSockaddrUn(name, platform);
    t.is(sa.length, 106, platform.name);
    t.deepEqual([sa[0], sa[1]], [106, 1], `${platform.name}: sun_len, then sun_family`);
    t.is(decodeSockaddrUn(sa, len, platform), '/tmp/uvts.sock');
    // Off Linux, a leading NUL is no abstract name: the path ends there.
    t.is(decodeSockaddrUn(encodeSockaddrUn(Buffer.from('\0abc'), platform).sa, 106, platform), '');
  }
  // A name that fills sun_path has no NUL: it ends with the array.
  const full = Buffer.alloc(linux.SOCKADDR_UN.pathSize, 'x');
  const filled = encodeSockaddrUn(full, linux);
  t.is(decodeSockaddrUn(filled.sa, 128, linux), full.toString());
});

unixOnly('reads /proc/self/fd and makes stale socket files with libc', test.serial)(
  'every fd is closed at the end: /proc/self/fd is as it was before the loop',
  (t) => {
    const before = openFds();
    const loop = new Loop();
    const path = join(dir(), 'fds.sock');
    const server = echoServer(loop, path);
    const clients = 20;
    const listeners: Pipe[] = [server];
    let pending = clients + 3;
    let peak = 0;
    const done = (): void => {
      peak = Math.max(peak, openFds().length);
      if (--pending === 0) for (const listener of listeners) listener.close();
    };
    for (let i = 0; i < clients; i++) {
      const client = new Pipe(loop);
      client.connect(path, (err) => {
        t.is(err, null);
        client.readStart((readErr, data) => {
          t.is(readErr, null);
          if (data === null) client.close(done);
        });
        client.write(Buffer.from(`client ${i}`));
        client.shutdown();
      });
    }
    // A connection the server is told of but never accepts: closing the server must close it.
    const pausedPath = join(dir(), 'paused.sock');
    const paused = new Pipe(loop).bind(pausedPath);
    listeners.push(paused);
    paused.listen(1, () => done());
    new Pipe(loop).connect(pausedPath, (err) => t.is(err, null));
    // A refused connect, a missing path, a failed bind, an opened pipe(2) pair and an abstract name.
    const stale = join(dir(), 'stale.sock');
    staleSocketFile(stale);
    const refused = new Pipe(loop);
    refused.connect(stale, (err) => {
      t.is(err?.code, 'ECONNREFUSED');
      refused.close(done);
    });
    const missing = new Pipe(loop);
    missing.connect(join(dir(), 'missing.sock'), (err) => {
      t.is(err?.code, 'ENOENT');
      missing.close(done);
    });
    t.throws(() => new Pipe(loop).bind(stale));
    const [r, w] = pipePair();
    new Pipe(loop).open(r);
    new Pipe(loop).open(w);
    if (LINUX) listeners.push(new Pipe(loop).bind(abstractName('fds')).listen(1, () => t.fail('nobody connects')));
    loop.run();
    t.is(pending, 0);
    t.true(peak > before.length + clients, `${peak} fds were open at the peak`);
    closeLoop(t, loop);
    t.deepEqual(openFds(), before, "every socket, pipe end and the loop's own fds are closed");
  },
);

// Named pipes (Windows): what differs from AF_UNIX sockets.

windowsTest('named pipes: each end names the pipe as libuv does; an echo of 100 KiB comes back whole', (t) => {
  const loop = new Loop();
  const name = pipeName('names');
  const message = randomBytes(100 * 1024);
  const server = new Pipe(loop).bind(name);
  t.is(server.address(), name, 'a server is named by its pipe');
  uvCode(t, () => server.remoteAddress(), 'ENOTCONN');
  let serverSide: { local: string; remote: string } | undefined;
  server.listen(4, (err) => {
    t.is(err, null);
    const conn = new Pipe(loop);
    server.accept(conn);
    server.close();
    serverSide = { local: conn.address(), remote: conn.remoteAddress() };
    conn.readStart((readErr, data) => {
      t.is(readErr, null);
      if (data === null) conn.close();
      else conn.write(data);
    });
  });
  const client = new Pipe(loop);
  let clientSide: { local: string; remote: string } | undefined;
  const received: Buffer[] = [];
  let got = 0;
  client.connect(name, (err) => {
    t.is(err, null);
    clientSide = { local: client.address(), remote: client.remoteAddress() };
    client.readStart((readErr, data) => {
      t.is(readErr, null);
      if (data === null) return;
      received.push(data);
      got += data.length;
      // The client closes once it has the echo; the server reads that as the end.
      if (got === message.length) client.close();
    });
    client.write(message, (writeErr) => t.is(writeErr, null));
  });
  loop.run();
  t.true(Buffer.concat(received).equals(message));
  t.deepEqual(serverSide, { local: '', remote: name }, "an accepted end: no name of its own, the server's as its peer");
  t.deepEqual(clientSide, { local: '', remote: name });
  closeLoop(t, loop);
});

windowsTest(
  'a second bind of a name in use is EADDRINUSE, from bind() itself; the name is free again after close',
  (t) => {
    const loop = new Loop();
    const name = pipeName('taken');
    const first = new Pipe(loop).bind(name);
    first.listen(1, () => t.fail('nobody connects'));
    const second = new Pipe(loop);
    const err = t.throws(() => second.bind(name)) as UVError;
    t.is(err.code, 'EADDRINUSE');
    t.is(err.errno, errnoOf('EADDRINUSE'));
    t.is(err.syscall, 'bind');
    t.is(err.path, name);
    uvCode(t, () => second.address(), 'EBADF');
    second.close();
    first.close();
    loop.run();
    // Every instance went with the first server: the name can be bound again.
    const again = new Pipe(loop).bind(name);
    t.is(again.address(), name);
    again.close();
    closeLoop(t, loop);
  },
);

windowsTest('twelve clients connect at once, more than the four pending instances: each gets its own echo', (t) => {
  const loop = new Loop();
  const name = pipeName('many');
  const clients = 12;
  const server = new Pipe(loop).bind(name);
  let accepted = 0;
  server.listen(128, (err) => {
    t.is(err, null);
    const conn = new Pipe(loop);
    server.accept(conn);
    if (++accepted === clients) server.close();
    conn.readStart((readErr, data) => {
      t.is(readErr, null);
      if (data === null) conn.close();
      else conn.write(data);
    });
  });
  const echoes = new Map<number, string>();
  for (let i = 0; i < clients; i++) {
    const client = new Pipe(loop);
    const text = `client ${i}`;
    let got = '';
    client.connect(name, (err) => {
      t.is(err, null, `client ${i} connected`);
      client.readStart((readErr, data) => {
        t.is(readErr, null);
        if (data === null) return;
        got += data.toString();
        if (got.length < text.length) return;
        echoes.set(i, got);
        client.close();
      });
      client.write(Buffer.from(text));
    });
  }
  loop.run();
  t.is(accepted, clients);
  t.deepEqual(
    [...echoes.entries()].sort((a, b) => a[0] - b[0]),
    Array.from({ length: clients }, (_, i) => [i, `client ${i}`]),
  );
  closeLoop(t, loop);
});

windowsTest(
  'close while reading: the pending read is cancelled, the close callback runs, the peer reads the end',
  (t) => {
    const loop = new Loop();
    const name = pipeName('close-reading');
    const server = new Pipe(loop).bind(name);
    const order: string[] = [];
    server.listen(1, () => {
      const conn = new Pipe(loop);
      server.accept(conn);
      server.close();
      conn.readStart((err, data) => {
        order.push(`server read ${err === null ? (data === null ? 'EOF' : 'data') : err.code}`);
        if (data === null) conn.close();
      });
    });
    const client = new Pipe(loop);
    client.connect(name, (err) => {
      t.is(err, null);
      client.readStart(() => t.fail('the server writes nothing, and the close stops the read'));
      client.write(Buffer.from('x'), (werr) => {
        t.is(werr, null);
        client.close(() => order.push('client closed'));
      });
    });
    loop.run();
    t.true(order.includes('client closed'));
    t.is(order.filter((o) => o === 'server read EOF').length, 1);
    t.deepEqual(
      order.filter((o) => o.startsWith('server')),
      ['server read data', 'server read EOF'],
    );
    closeLoop(t, loop);
  },
);

windowsTest('open(fd) is ENOTSUP on Windows; names are checked before the system sees them', (t) => {
  const loop = new Loop();
  const pipe = new Pipe(loop);
  const err = t.throws(() => pipe.open(0)) as UVError;
  t.is(err.code, 'ENOTSUP');
  t.regex(err.message, /Windows/);
  for (const value of [undefined, null, 42, Buffer.from('x'), {}]) {
    t.throws(() => pipe.bind(value as string), { instanceOf: TypeError });
    t.throws(() => pipe.connect(value as string, () => {}), { instanceOf: TypeError });
  }
  uvCode(t, () => pipe.bind(''), 'EINVAL');
  uvCode(t, () => pipe.bind('\\\\.\\pipe\\a\0b'), 'EINVAL');
  uvCode(t, () => pipe.connect('', () => {}), 'EINVAL');
  uvCode(t, () => pipe.listen(1, () => {}), 'EINVAL');
  uvCode(t, () => pipe.readStart(() => {}), 'ENOTCONN');
  uvCode(t, () => pipe.address(), 'EBADF');
  const server = new Pipe(loop).bind(pipeName('state'));
  server.listen(1, () => t.fail('nobody connects'));
  uvCode(t, () => server.accept(new Pipe(loop)), 'EAGAIN');
  uvCode(t, () => server.connect(pipeName('other'), () => t.fail('never called')), 'EINVAL');
  server.close();
  uvCode(t, () => server.bind(pipeName('late')), 'EINVAL');
  pipe.close();
  closeLoop(t, loop);
});
