// Tcp over Stream (lib/handles/tcp.ts, lib/handles/stream.ts), after libuv's test-tcp-*.c: each
// spec is one loop on loopback, server and clients in it, and ends with every handle closed and
// loop.close() succeeding. Sizes are kept so that the ffi-rs driver (~15 µs a call) stays quick.
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tryLibc } from '../ffi/driver.js';
import { FUNCTIONS, type Libc } from '../ffi/libc.js';
import { tryKernel32, tryWinsock } from '../ffi/win32.js';
import { Check, Loop, Tcp, Timer, UVError } from '../lib/index.js';
import { errnoOf } from '../lib/errors.js';
import {
  SOCKOPT,
  closeLoop,
  lingerZero,
  onWindows,
  settleKqueueFds,
  socketOption,
  socketOptionOrNull,
  unixOnly,
  uvCode,
  viaLibkqueue,
  windowsOnly,
} from './support.js';

const { IPPROTO_TCP, SOL_SOCKET, SO_KEEPALIVE, TCP_KEEPCNT, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_NODELAY } = SOCKOPT;

const HOST = '127.0.0.1';

function libc(): Libc {
  const bound = tryLibc();
  if (bound instanceof Error) throw bound;
  return bound;
}

function codeOf(err: UVError | null): string {
  return err === null ? 'ok' : err.code;
}

/**
 * An echo server: each connection it accepts writes back what it reads and, at EOF, shuts down
 * and closes. `accepted` lists the connections in the order they came.
 */
function echoServer(loop: Loop): { server: Tcp; port: number; accepted: Tcp[] } {
  const accepted: Tcp[] = [];
  const server = new Tcp(loop).bind(HOST, 0);
  server.listen(128, (err) => {
    if (err !== null) throw err;
    const conn = new Tcp(loop);
    server.accept(conn);
    accepted.push(conn);
    conn.readStart((readErr, data) => {
      // A client that closes with echoed bytes unread resets the connection (Windows does so
      // every time; Linux when the echo arrived first): the echo ends, as libuv's echo server does.
      if (readErr?.code === 'ECONNRESET') return void conn.close();
      if (readErr !== null) throw readErr;
      if (data === null) conn.shutdown(() => conn.close());
      else conn.write(data);
    });
  });
  return { server, port: server.address().port, accepted };
}

type FfiTable = Record<string, (...args: unknown[]) => number>;

/**
 * The FFI tables a Tcp calls through: libc on Unix; on Windows, Winsock and the kernel32 calls
 * the iocp backend makes for sockets and its port (ffi/win32.ts).
 */
function ffiTables(): FfiTable[] {
  if (!onWindows) return [libc() as unknown as FfiTable];
  const ws = tryWinsock();
  const k32 = tryKernel32();
  if (ws instanceof Error) throw ws;
  if (k32 instanceof Error) throw k32;
  return [ws.ws2, ws.k32, k32].map((table) => table as unknown as FfiTable);
}

/** Calls `fn` and counts the calls it made through the FFI tables (every function in them). */
function ffiCallsDuring(fn: () => void): number {
  const saved: [FfiTable, string, (...args: unknown[]) => number][] = [];
  let calls = 0;
  for (const table of ffiTables()) {
    for (const name of onWindows ? Object.keys(table) : Object.keys(FUNCTIONS)) {
      const original = table[name];
      if (typeof original !== 'function') continue;
      saved.push([table, name, original]);
      table[name] = (...args: unknown[]) => {
        calls++;
        return original(...args);
      };
    }
  }
  try {
    fn();
  } finally {
    for (const [table, name, original] of saved) table[name] = original;
  }
  return calls;
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

for (const [host, family] of [
  ['127.0.0.1', 4],
  ['::1', 6],
] as const) {
  test(`an echo server and client in one loop on ${host}`, (t) => {
    const loop = new Loop();
    const message = Buffer.from(`over ${host}: ${'the quick brown fox '.repeat(200)}`);
    let serverSide: { local: unknown; remote: unknown } | undefined;
    const server = new Tcp(loop).bind(host, 0);
    const local = server.address();
    t.deepEqual(local, { address: host, port: local.port, family });
    t.true(local.port > 0, 'the kernel chose a port');
    server.listen(8, (err) => {
      t.is(err, null);
      const conn = new Tcp(loop);
      server.accept(conn);
      server.close();
      serverSide = { local: conn.address(), remote: conn.remoteAddress() };
      conn.readStart((readErr, data) => {
        t.is(readErr, null);
        if (data === null) conn.shutdown(() => conn.close());
        else conn.write(data);
      });
    });

    const client = new Tcp(loop);
    let clientName: unknown;
    const received: Buffer[] = [];
    let eof = false;
    client.connect(host, local.port, (err) => {
      t.is(err, null);
      t.deepEqual(client.remoteAddress(), { address: host, port: local.port, family });
      clientName = client.address();
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
    const name = clientName as { address: string; port: number; family: number };
    t.is(name.family, family);
    t.is(name.address, host);
    t.deepEqual(
      serverSide,
      { local: { address: host, port: local.port, family }, remote: name },
      'each end names the other as the other names itself',
    );
    closeLoop(t, loop);
  });
}

test('1000 ping-pongs on one connection, each message reassembled however the stream cuts it', (t) => {
  const loop = new Loop();
  const rounds = 1000;
  const server = new Tcp(loop).bind(HOST, 0);
  server.listen(1, () => {
    // Without TCP_NODELAY the second half would wait for the client's delayed ACK every round.
    const conn = new Tcp(loop).setNoDelay(true);
    server.accept(conn);
    server.close();
    conn.readStart((err, data) => {
      if (err !== null) throw err;
      if (data === null) {
        conn.close();
        return;
      }
      // Echoed in two writes, so the client often sees a message in two reads.
      const cut = data.length >> 1;
      conn.write(data.subarray(0, cut));
      conn.write(data.subarray(cut));
    });
  });

  const client = new Tcp(loop).setNoDelay(true);
  let round = 0;
  let expected = Buffer.alloc(0);
  let pending = Buffer.alloc(0);
  let reads = 0;
  const wrong: string[] = [];
  const send = (): void => {
    expected = Buffer.from(`ping ${round} ${'.'.repeat(round % 61)}\n`);
    client.write(expected);
  };
  client.connect(HOST, server.address().port, (err) => {
    t.is(err, null);
    client.readStart((readErr, data) => {
      if (readErr !== null) throw readErr;
      if (data === null) {
        wrong.push(`EOF in round ${round}`);
        client.close();
        return;
      }
      reads++;
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
  t.true(reads >= rounds, `${reads} reads for ${rounds} messages`);
  closeLoop(t, loop);
});

test('64 MiB from client to server arrive whole: the same SHA-256 and byte count', (t) => {
  const loop = new Loop();
  const size = 64 * 1024 * 1024;
  const chunkSize = 256 * 1024;
  const window = 8; // writes in flight at once
  const data = randomBytes(size);
  const expected = createHash('sha256').update(data).digest('hex');

  const hash = createHash('sha256');
  let bytes = 0;
  let reads = 0;
  let digest = '';
  const server = new Tcp(loop).bind(HOST, 0);
  server.listen(1, () => {
    const conn = new Tcp(loop);
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

  const client = new Tcp(loop);
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
    // Asked for while writes are still queued: it must wait for them, not cut them off.
    if (offset === size && shutdownResult === '') {
      shutdownResult = 'pending';
      client.shutdown((err) => {
        shutdownResult = codeOf(err);
        writesBeforeShutdown = writeResults.length;
      });
    }
  };
  client.connect(HOST, server.address().port, (err) => {
    t.is(err, null);
    // The server closes once it has read to EOF; the client waits for that before closing.
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

test('half-close: after the client shuts down, the server reads EOF and can still write back', (t) => {
  const loop = new Loop();
  const events: string[] = [];
  const server = new Tcp(loop).bind(HOST, 0);
  server.listen(1, () => {
    const conn = new Tcp(loop);
    server.accept(conn);
    server.close();
    conn.readStart((err, data) => {
      t.is(err, null);
      if (data !== null) {
        events.push(`server read ${data.toString()}`);
        return;
      }
      events.push('server EOF');
      t.false(conn.isActive(), 'reading stopped at EOF');
      conn.write(Buffer.from('bye'), (writeErr) => events.push(`server write ${codeOf(writeErr)}`));
      conn.shutdown((shutErr) => {
        events.push(`server shutdown ${codeOf(shutErr)}`);
        conn.close();
      });
    });
  });

  const client = new Tcp(loop);
  client.connect(HOST, server.address().port, (err) => {
    t.is(err, null);
    client.readStart((readErr, data) => {
      t.is(readErr, null);
      events.push(data === null ? 'client EOF' : `client read ${data.toString()}`);
      if (data === null) client.close();
    });
    client.write(Buffer.from('hello'));
    client.shutdown((shutErr) => {
      events.push(`client shutdown ${codeOf(shutErr)}`);
      uvCode(t, () => client.write(Buffer.from('late')), 'EPIPE');
      uvCode(t, () => client.shutdown(), 'ENOTCONN');
    });
    // Both refusals hold from the moment shutdown() is asked for, not only once it is done.
    uvCode(t, () => client.write(Buffer.from('late')), 'EPIPE');
    uvCode(t, () => client.shutdown(), 'ENOTCONN');
  });
  loop.run();

  // Each side's own order is the contract; how the two interleave is the kernel's (a completion
  // port hands the two sockets' completions back in either order).
  const side = (name: string) => events.filter((e) => e.startsWith(name));
  t.deepEqual(side('server'), ['server read hello', 'server EOF', 'server write ok', 'server shutdown ok']);
  t.deepEqual(side('client'), ['client shutdown ok', 'client read bye', 'client EOF']);
  t.true(events.indexOf('server EOF') < events.indexOf('client read bye'), 'the server wrote back after EOF');
  closeLoop(t, loop);
});

test('connect to a port with no listener: ECONNREFUSED reaches the callback, never inside connect()', (t) => {
  const loop = new Loop();
  // Bound but not listening: the kernel refuses connections to it, and holds the port meanwhile.
  const holder = new Tcp(loop).bind(HOST, 0);
  const port = holder.address().port;
  const client = new Tcp(loop);
  let error: UVError | null | undefined;
  client.connect(HOST, port, (err) => {
    error = err;
    client.close();
  });
  t.is(error, undefined, 'connect() returned before its callback ran');

  // What was asked for while it connected fails after the connect callback, without close().
  const eager = new Tcp(loop);
  const order: string[] = [];
  eager.connect(HOST, port, (err) => order.push(`connect ${codeOf(err)}`));
  eager.write(Buffer.from('never sent'), (err) => order.push(`write ${codeOf(err)}`));
  eager.shutdown((err) => {
    order.push(`shutdown ${codeOf(err)}`);
    eager.close();
    holder.close();
  });
  loop.run();

  t.true(error instanceof UVError);
  t.is(error?.code, 'ECONNREFUSED');
  t.is(error?.errno, errnoOf('ECONNREFUSED'));
  t.is(error?.syscall, 'connect');
  t.deepEqual(order, ['connect ECONNREFUSED', 'write ECANCELED', 'shutdown ENOTCONN']);
  closeLoop(t, loop);
});

test('closing while connecting: connect, queued writes and shutdown get ECANCELED, in order, before the close callback', (t) => {
  const loop = new Loop();
  const { server } = echoServer(loop);
  const order: string[] = [];
  const client = new Tcp(loop);
  client.connect(HOST, server.address().port, (err) => order.push(`connect ${codeOf(err)}`));
  client.write(Buffer.from('one'), (err) => order.push(`write one ${codeOf(err)}`));
  client.write(Buffer.from('two'), (err) => order.push(`write two ${codeOf(err)}`));
  client.shutdown((err) => order.push(`shutdown ${codeOf(err)}`));
  client.close(() => {
    order.push('close');
    server.close();
  });
  t.deepEqual(order, [], 'nothing runs inside close()');
  loop.run();
  t.deepEqual(order, [
    'connect ECANCELED',
    'write one ECANCELED',
    'write two ECANCELED',
    'shutdown ECANCELED',
    'close',
  ]);
  closeLoop(t, loop);
});

test('closing with writes queued behind a peer that does not read: each gets ECANCELED, in order, before the close callback', (t) => {
  const loop = new Loop();
  let conn: Tcp | undefined;
  const server = new Tcp(loop).bind(HOST, 0);
  server.listen(1, () => {
    conn = new Tcp(loop);
    server.accept(conn); // and never read from it
  });
  const client = new Tcp(loop);
  const order: string[] = [];
  let written = 0;
  client.connect(HOST, server.address().port, (err) => {
    t.is(err, null);
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    // Until the kernel pushes back: then the last write is only partly taken.
    for (let i = 0; i < 1024 && client.writeQueueSize === 0; i++) {
      client.write(chunk, (writeErr) => order.push(`${i} ${codeOf(writeErr)}`));
      written++;
    }
    t.true(client.writeQueueSize > 0, 'the kernel pushed back');
    for (let i = written; i < written + 3; i++) {
      client.write(Buffer.from('queued'), (writeErr) => order.push(`${i} ${codeOf(writeErr)}`));
    }
    client.close(() => {
      order.push('close');
      conn?.close();
      server.close();
    });
  });
  loop.run();

  const total = written + 3;
  t.is(order.length, total + 1);
  t.is(order[total], 'close', 'the close callback comes last');
  t.deepEqual(
    order.slice(0, total).map((entry) => Number(entry.split(' ')[0])),
    [...Array(total).keys()],
    'in write order',
  );
  // Those the kernel took whole succeeded; the one it took in part and those behind it did not.
  t.deepEqual(
    order.slice(0, total).map((entry) => entry.split(' ')[1]),
    [...Array(written - 1).fill('ok'), ...Array(4).fill('ECANCELED')],
  );
  closeLoop(t, loop);
});

test('a write the kernel takes at once still calls back later, from the loop', (t) => {
  const loop = new Loop();
  const { server } = echoServer(loop);
  const client = new Tcp(loop);
  const order: string[] = [];
  client.connect(HOST, server.address().port, (err) => {
    t.is(err, null);
    client.write(Buffer.from('taken at once'), (writeErr) => order.push(`write ${codeOf(writeErr)}`));
    t.is(client.writeQueueSize, 0, 'the kernel took it all inside write()');
    client.write(new Uint8Array(0), (writeErr) => order.push(`empty write ${codeOf(writeErr)}`));
    order.push('write() returned');
    client.readStart((readErr, data) => {
      t.is(readErr, null);
      if (data === null) {
        client.close();
        server.close();
      }
    });
    client.shutdown();
  });
  loop.run();
  t.deepEqual(order, ['write() returned', 'write ok', 'empty write ok']);
  closeLoop(t, loop);
});

test('write callbacks that write again spread over iterations, and the loop keeps turning', (t) => {
  const loop = new Loop();
  const { server } = echoServer(loop);
  const client = new Tcp(loop);
  const chained = 200;
  const iterations = new Set<number>();
  let checks = 0;
  const check = new Check(loop).start(() => checks++);
  let done = 0;
  const small = Buffer.from('x');
  const next = (err: UVError | null): void => {
    t.is(err, null);
    iterations.add(loop.metrics().loopCount);
    if (++done < chained) client.write(small, next);
    else client.shutdown();
  };
  let echoed = 0;
  client.connect(HOST, server.address().port, (err) => {
    t.is(err, null);
    client.readStart((readErr, data) => {
      t.is(readErr, null);
      if (data !== null) {
        echoed += data.length;
        return;
      }
      client.close();
      server.close();
      check.close();
    });
    client.write(small, next);
  });
  loop.run();
  t.is(done, chained);
  t.is(echoed, chained);
  // Each callback's write is taken at once; were its callback run in the same pass, all 200
  // would run in one iteration and starve every other handle.
  t.true(iterations.size >= 10, `${chained} chained callbacks ran in ${iterations.size} iterations`);
  t.true(checks >= 10, `check ran ${checks} times meanwhile`);
  closeLoop(t, loop);
});

test('writes and a shutdown asked for while connecting go out once connected', (t) => {
  const loop = new Loop();
  const { server, port, accepted } = echoServer(loop);
  const order: string[] = [];
  let echoed = '';
  let finished = 0;
  const finish = (): void => {
    if (++finished === 2) server.close();
  };
  const early = new Tcp(loop);
  early.connect(HOST, port, (err) => {
    order.push(`connect ${codeOf(err)}`);
    early.readStart((readErr, data) => {
      t.is(readErr, null);
      if (data !== null) {
        echoed += data.toString();
        return;
      }
      early.close();
      finish();
    });
  });
  early.write(Buffer.from('early '), (err) => order.push(`write ${codeOf(err)}`));
  early.write(Buffer.from('bird'), (err) => order.push(`write ${codeOf(err)}`));
  early.shutdown((err) => order.push(`shutdown ${codeOf(err)}`));

  // Nothing written: the shutdown alone must still happen, after the connect, not before it.
  const bare = new Tcp(loop);
  let bareResult = '';
  bare.connect(HOST, port, (err) => {
    t.is(err, null);
    bare.readStart((readErr, data) => {
      t.is(readErr, null);
      t.is(data, null, 'the server echoes nothing, then shuts down');
      bare.close();
      finish();
    });
  });
  bare.shutdown((err) => {
    bareResult = codeOf(err);
  });
  loop.run();

  t.deepEqual(order, ['connect ok', 'write ok', 'write ok', 'shutdown ok']);
  t.is(echoed, 'early bird');
  t.is(bareResult, 'ok');
  t.is(accepted.length, 2);
  closeLoop(t, loop);
});

test('a write callback that closes the stream: the shutdown queued behind it is cancelled, not attempted', (t) => {
  const loop = new Loop();
  const { server, port } = echoServer(loop);
  const client = new Tcp(loop);
  const order: string[] = [];
  client.connect(HOST, port, (err) => {
    t.is(err, null);
    client.write(Buffer.from('last words'), (writeErr) => {
      order.push(`write ${codeOf(writeErr)}`);
      client.close(() => {
        order.push('close');
        server.close();
      });
    });
    client.shutdown((shutErr) => order.push(`shutdown ${codeOf(shutErr)}`));
  });
  loop.run();
  t.deepEqual(order, ['write ok', 'shutdown ECANCELED', 'close']);
  closeLoop(t, loop);
});

test('a throwing callback loses nothing: the next run() carries on with the connection and the write callbacks left', (t) => {
  const loop = new Loop();
  const boom = new Error('boom');
  let announced = 0;
  const server = new Tcp(loop).bind(HOST, 0);
  server.listen(8, () => {
    if (++announced === 1) throw boom; // before accepting
  });
  const first = new Tcp(loop);
  first.connect(HOST, server.address().port, (err) => t.is(err, null));
  let thrown: unknown;
  for (let i = 0; i < 1000 && thrown === undefined; i++) {
    try {
      loop.run('nowait');
    } catch (err) {
      thrown = err;
    }
  }
  t.is(thrown, boom, 'run() passed the exception on');
  // The connection stays announced and not taken, though the callback never returned...
  let secondConnected = false;
  const second = new Tcp(loop);
  second.connect(HOST, server.address().port, (err) => {
    t.is(err, null);
    secondConnected = true;
  });
  for (let i = 0; i < 1000 && !secondConnected; i++) loop.run('nowait');
  for (let i = 0; i < 20; i++) loop.run('nowait');
  // ...the second waits its turn in the kernel (on Windows, where a pending AcceptEx took it, it
  // is announced behind the first)...
  t.is(announced, onWindows ? 2 : 1, 'the second connection waits its turn');
  // ...and the connection first told of is the one accept() takes, then the second.
  const conn = new Tcp(loop);
  server.accept(conn);
  t.is(conn.remoteAddress().port, first.address().port);
  for (let i = 0; i < 1000 && announced < 2; i++) loop.run('nowait');
  t.is(announced, 2, 'accepting goes on');
  const conn2 = new Tcp(loop);
  server.accept(conn2);
  t.is(conn2.remoteAddress().port, second.address().port);

  // Write callbacks: the first throws; the second still runs, from the next run().
  const order: string[] = [];
  first.write(Buffer.from('a'), () => {
    order.push('a');
    throw boom;
  });
  first.write(Buffer.from('b'), () => order.push('b'));
  t.is(first.writeQueueSize, 0, 'both were taken at once');
  t.throws(() => loop.run('nowait'), { is: boom });
  t.deepEqual(order, ['a']);
  loop.run('nowait');
  t.deepEqual(order, ['a', 'b']);
  closeLoop(t, loop);
});

test("readStop holds data back until readStart; unref'd handles do not keep the loop alive", (t) => {
  const loop = new Loop();
  let conn: Tcp | undefined;
  const server = new Tcp(loop).bind(HOST, 0);
  server.listen(1, () => {
    conn = new Tcp(loop);
    server.accept(conn);
    conn.write(Buffer.from('first'));
  });
  const client = new Tcp(loop);
  const chunks: string[] = [];
  client.connect(HOST, server.address().port, (err) => {
    t.is(err, null);
    client.readStart((readErr, data) => {
      t.is(readErr, null);
      chunks.push(data === null ? 'EOF' : data.toString());
      client.readStop();
      t.false(client.isActive());
      conn?.write(Buffer.from('second'));
    });
    t.true(client.isActive());
  });
  for (let i = 0; i < 1000 && chunks.length === 0; i++) loop.run('nowait');
  t.deepEqual(chunks, ['first']);
  for (let i = 0; i < 20; i++) loop.run('nowait');
  t.deepEqual(chunks, ['first'], 'nothing is read while stopped');
  client.readStart((readErr, data) => {
    t.is(readErr, null);
    chunks.push(data === null ? 'EOF' : data.toString());
  });
  for (let i = 0; i < 1000 && chunks.length === 1; i++) loop.run('nowait');
  t.deepEqual(chunks, ['first', 'second']);

  // Listening and reading handles are active; unref'd, they no longer keep run() going.
  t.true(server.isActive());
  server.unref();
  client.unref();
  conn?.unref();
  t.false(loop.alive());
  t.false(loop.run(), 'run() returns at once');
  closeLoop(t, loop);
});

test('100 concurrent connections to one server, each echoing its own message', (t) => {
  const loop = new Loop();
  const clients = 100;
  const { server, port, accepted } = echoServer(loop);
  const results: string[] = Array<string>(clients).fill('');
  let finished = 0;
  for (let i = 0; i < clients; i++) {
    const message = Buffer.from(`client ${i}: ${'#'.repeat((i * 37) % 1000)}`);
    const received: Buffer[] = [];
    const client = new Tcp(loop);
    client.connect(HOST, port, (err) => {
      t.is(err, null);
      client.readStart((readErr, data) => {
        t.is(readErr, null);
        if (data !== null) {
          received.push(data);
          return;
        }
        results[i] = Buffer.concat(received).equals(message) ? 'ok' : `got ${Buffer.concat(received).length} bytes`;
        client.close();
        if (++finished === clients) server.close();
      });
      client.write(message);
      client.shutdown();
    });
  }
  loop.run();
  t.is(accepted.length, clients);
  t.deepEqual(results, Array<string>(clients).fill('ok'));
  closeLoop(t, loop);
});

unixOnly('Windows announces every connection a pending AcceptEx took (libuv posts 32), see the case below')(
  'accept rules: EAGAIN with nothing waiting; a connection not accepted pauses accepting until accept()',
  (t) => {
    const loop = new Loop();
    let announced = 0;
    const server = new Tcp(loop).bind(HOST, 0);
    server.listen(8, (err) => {
      t.is(err, null);
      announced++; // and not accepted here
    });
    uvCode(t, () => server.accept(new Tcp(loop)), 'EAGAIN');

    let connected = 0;
    const clients = [0, 1, 2].map(() => {
      const client = new Tcp(loop);
      client.connect(HOST, server.address().port, (err) => {
        t.is(err, null);
        connected++;
      });
      return client;
    });
    // Every connection is complete in the kernel, so each waits in the listen queue...
    for (let i = 0; i < 1000 && connected < 3; i++) loop.run('nowait');
    t.is(connected, 3);
    // ...yet without accept() the server hears of one only, however long the loop turns.
    for (let i = 0; i < 50; i++) loop.run('nowait');
    t.is(announced, 1);

    const conns: Tcp[] = [];
    for (let expected = 2; expected <= 3; expected++) {
      const conn = new Tcp(loop);
      server.accept(conn);
      conns.push(conn);
      uvCode(t, () => server.accept(new Tcp(loop)), 'EAGAIN');
      for (let i = 0; i < 1000 && announced < expected; i++) loop.run('nowait');
      t.is(announced, expected, 'accept() resumed accepting, for one more connection');
    }
    const last = new Tcp(loop);
    server.accept(last);
    conns.push(last);
    for (let i = 0; i < 50; i++) loop.run('nowait');
    t.is(announced, 3, 'no fourth connection');
    t.deepEqual(conns.map((c) => c.remoteAddress().port).sort(), clients.map((c) => c.address().port).sort());
    closeLoop(t, loop);
  },
);

/**
 * Clients that each send `size` random bytes and shut down, then read the echo to its end:
 * `digests` gets, per client, whether the SHA-256 of what came back is that of what it sent.
 */
function hashingClients(
  t: ExecutionContext,
  loop: Loop,
  port: number,
  count: number,
  size: number,
  done: () => void,
): string[] {
  const digests = Array<string>(count).fill('');
  let finished = 0;
  for (let i = 0; i < count; i++) {
    const data = randomBytes(size);
    const expected = createHash('sha256').update(data).digest('hex');
    const hash = createHash('sha256');
    let bytes = 0;
    const client = new Tcp(loop);
    client.connect(HOST, port, (err) => {
      t.is(err, null);
      client.readStart((readErr, chunk) => {
        t.is(readErr, null);
        if (chunk !== null) {
          hash.update(chunk);
          bytes += chunk.length;
          return;
        }
        digests[i] = hash.digest('hex') === expected ? 'ok' : `${bytes} bytes, another SHA-256`;
        client.close();
        if (++finished === count) done();
      });
      client.write(data);
      client.shutdown();
    });
  }
  return digests;
}

test('50 clients at once, more than the 32 AcceptEx a Windows listener posts: each is accepted and echoed whole', (t) => {
  const loop = new Loop();
  const clients = 50;
  const { server, port, accepted } = echoServer(loop);
  const digests = hashingClients(t, loop, port, clients, 16 * 1024, () => server.close());
  loop.run();
  t.is(accepted.length, clients);
  t.deepEqual(digests, Array<string>(clients).fill('ok'));
  closeLoop(t, loop);
});

test('a listener that accepts later, not from its callback, still gets every connection once it does', (t) => {
  const loop = new Loop();
  const clients = 40;
  let announced = 0;
  let taken = 0;
  const server = new Tcp(loop).bind(HOST, 0);
  server.listen(128, (err) => {
    t.is(err, null);
    announced++;
  });
  // Accepts what was announced, one check phase after, as a server that defers the work would.
  const later = new Check(loop).start(() => {
    for (; taken < announced; taken++) {
      const conn = new Tcp(loop);
      server.accept(conn);
      conn.readStart((readErr, data) => {
        if (readErr?.code === 'ECONNRESET') return void conn.close();
        if (readErr !== null) throw readErr;
        if (data === null) conn.shutdown(() => conn.close());
        else conn.write(data);
      });
    }
  });
  const digests = hashingClients(t, loop, server.address().port, clients, 4096, () => {
    server.close();
    later.close();
  });
  loop.run();
  t.is(announced, clients, 'each connection announced once');
  t.is(taken, clients);
  t.deepEqual(digests, Array<string>(clients).fill('ok'));
  closeLoop(t, loop);
});

test('closing a listener that has had no connection (32 AcceptEx pending on Windows): its close callback runs', (t) => {
  const loop = new Loop();
  const server = new Tcp(loop).bind(HOST, 0);
  server.listen(128, () => t.fail('no client connects'));
  loop.run('nowait');
  let closed = false;
  server.close(() => {
    closed = true;
  });
  loop.run();
  t.true(closed);
  closeLoop(t, loop);
});

test('closing a listener with connections announced and not accepted ends them: their clients see the end', (t) => {
  const loop = new Loop();
  const clients = 3;
  let announced = 0;
  const server = new Tcp(loop).bind(HOST, 0);
  server.listen(8, (err) => {
    t.is(err, null);
    announced++;
  });
  let connected = 0;
  const ends: string[] = [];
  for (let i = 0; i < clients; i++) {
    const client = new Tcp(loop);
    client.connect(HOST, server.address().port, (err) => {
      t.is(err, null);
      connected++;
      client.readStart((readErr, data) => {
        t.is(data, null, 'nobody wrote to it');
        ends.push(readErr === null ? 'EOF' : readErr.code);
        client.close();
      });
    });
  }
  // One connection is announced at a time on Unix; on Windows each pending AcceptEx takes one.
  const expected = onWindows ? clients : 1;
  for (let i = 0; i < 1000 && (connected < clients || announced < expected); i++) loop.run('nowait');
  t.is(connected, clients);
  t.is(announced, expected);
  server.close();
  loop.run();
  t.is(ends.length, clients, 'every client saw its connection end');
  // An announced socket closed with nothing unread ends in a FIN; one the kernel still queued
  // for the listener may be reset instead.
  for (const end of ends) t.true(end === 'EOF' || end === 'ECONNRESET', end);
  t.true(ends.filter((end) => end === 'EOF').length >= (onWindows ? clients : 1), ends.join(', '));
  closeLoop(t, loop);
});

windowsOnly("the queue of pending AcceptEx is the iocp backend's (libuv's src/win/tcp.c)")(
  'accept rules on Windows: 32 connections announced without accept(), the rest as accept() posts again',
  (t) => {
    const loop = new Loop();
    const clients = 40;
    const posted = 32; // libuv's uv_simultaneous_server_accepts
    let announced = 0;
    const server = new Tcp(loop).bind(HOST, 0);
    server.listen(128, (err) => {
      t.is(err, null);
      announced++; // and not accepted here
    });
    uvCode(t, () => server.accept(new Tcp(loop)), 'EAGAIN');
    let connected = 0;
    const ports: number[] = [];
    for (let i = 0; i < clients; i++) {
      const client = new Tcp(loop);
      client.connect(HOST, server.address().port, (err) => {
        t.is(err, null);
        connected++;
        ports.push(client.address().port);
      });
    }
    // Every connection is complete in the kernel's listen queue; 32 of them in a pending AcceptEx.
    for (let i = 0; i < 1000 && (connected < clients || announced < posted); i++) loop.run('nowait');
    t.is(connected, clients);
    for (let i = 0; i < 50; i++) loop.run('nowait');
    t.is(announced, posted, 'one connection per pending AcceptEx, no more');

    const conns: Tcp[] = [];
    for (let expected = posted + 1; expected <= clients; expected++) {
      const conn = new Tcp(loop);
      server.accept(conn);
      conns.push(conn);
      for (let i = 0; i < 1000 && announced < expected; i++) loop.run('nowait');
      t.is(announced, expected, 'accept() posted its AcceptEx again, for one more connection');
    }
    while (conns.length < clients) {
      const conn = new Tcp(loop);
      server.accept(conn);
      conns.push(conn);
    }
    uvCode(t, () => server.accept(new Tcp(loop)), 'EAGAIN');
    for (let i = 0; i < 50; i++) loop.run('nowait');
    t.is(announced, clients, 'no connection announced twice');
    t.deepEqual(conns.map((c) => c.remoteAddress().port).sort(), [...ports].sort());
    closeLoop(t, loop);
  },
);

test("bind to a port in use: EADDRINUSE comes from listen(), or from connect's callback, as libuv delays it", (t) => {
  const loop = new Loop();
  const server = new Tcp(loop).bind(HOST, 0).listen(1, () => t.fail('nobody connects'));
  const port = server.address().port;

  const second = new Tcp(loop);
  t.notThrows(() => second.bind(HOST, port));
  uvCode(t, () => second.address(), 'EADDRINUSE');
  const err = t.throws(() => second.listen(1, () => {}), { instanceOf: UVError }) as UVError;
  t.is(err.code, 'EADDRINUSE');
  t.is(err.syscall, 'listen');
  t.is(err.errno, errnoOf('EADDRINUSE'));

  const third = new Tcp(loop).bind(HOST, port);
  let result: string | undefined;
  third.connect(HOST, port, (connectErr) => {
    result = codeOf(connectErr);
  });
  t.is(result, undefined, 'not inside connect()');
  loop.run('nowait');
  t.is(result, 'EADDRINUSE');
  closeLoop(t, loop);
});

test('a bound or listening socket is neither readable nor writable; a handle without one names nothing', (t) => {
  const loop = new Loop();
  const fresh = new Tcp(loop);
  uvCode(t, () => fresh.address(), 'EBADF');
  // A write or shutdown with no socket: EBADF through the callback, from the loop.
  const refused: string[] = [];
  fresh.write(Buffer.from('x'), (err) => refused.push(`write ${codeOf(err)}`));
  fresh.shutdown((err) => refused.push(`shutdown ${codeOf(err)}`));
  t.deepEqual(refused, [], 'not inside the call');
  loop.run('nowait');
  t.deepEqual(refused, ['write EBADF', 'shutdown EBADF']);
  uvCode(t, () => fresh.readStart(() => {}), 'ENOTCONN');

  const bound = new Tcp(loop).bind(HOST, 0);
  uvCode(t, () => bound.readStart(() => {}), 'ENOTCONN');
  uvCode(t, () => bound.write(Buffer.from('x')), 'EPIPE');
  uvCode(t, () => bound.remoteAddress(), 'ENOTCONN');

  const server = new Tcp(loop).bind(HOST, 0).listen(1, () => {});
  t.true(server.isActive());
  uvCode(t, () => server.readStart(() => {}), 'ENOTCONN');
  uvCode(t, () => server.write(Buffer.from('x')), 'EPIPE');
  uvCode(t, () => server.shutdown(), 'ENOTCONN');

  const client = new Tcp(loop);
  client.connect(HOST, server.address().port, () => {});
  const again = t.throws(() => client.connect(HOST, server.address().port, () => {}), {
    instanceOf: UVError,
  }) as UVError;
  t.is(again.code, 'EALREADY');
  client.close();
  closeLoop(t, loop);
});

test('a server that replies from a timer after the peer reset stays up: the write on the closed stream gets EBADF', (t) => {
  const loop = new Loop();
  const server = new Tcp(loop).bind(HOST, 0);
  const seen: string[] = [];
  server.listen(1, () => {
    const conn = new Tcp(loop);
    server.accept(conn);
    server.close();
    conn.readStart((err, data) => {
      if (data !== null) {
        // The reply goes out later, from a timer; by then the peer has reset.
        new Timer(loop).start((timer) => {
          timer.close();
          conn.write(Buffer.from('late reply'), (writeErr) => seen.push(`write ${codeOf(writeErr)}`));
          conn.shutdown((shutErr) => seen.push(`shutdown ${codeOf(shutErr)}`));
          seen.push('wrote');
        }, 20);
        return;
      }
      seen.push(`read ${codeOf(err)}`);
      conn.close();
    });
  });
  const client = new Tcp(loop);
  client.connect(HOST, server.address().port, (err) => {
    t.is(err, null);
    client.write(Buffer.from('hello'), () => {
      // SO_LINGER with a zero timeout: close() sends RST instead of FIN.
      t.is(lingerZero(client), 0);
      client.close();
    });
  });
  t.notThrows(() => loop.run());
  t.is(seen.length, 4);
  t.deepEqual(seen.slice(1), ['wrote', 'write EBADF', 'shutdown EBADF']);
  t.regex(seen[0] as string, /^read (ECONNRESET|ok)$/, 'the reset (or EOF, under libkqueue) closed the stream first');
  closeLoop(t, loop);
});

test('argument checks throw before anything reaches FFI', (t) => {
  const loop = new Loop();
  const tcp = new Tcp(loop);
  const calls = ffiCallsDuring(() => {
    for (const host of [42, null, undefined, {}, ['127.0.0.1']]) {
      t.throws(() => tcp.bind(host as never, 0), { instanceOf: TypeError });
      t.throws(() => tcp.connect(host as never, 80, () => {}), { instanceOf: TypeError });
    }
    for (const host of ['localhost', 'example.com', '', '127.1', '1.2.3.4.5', '::1::', 'fe80::1%lo', '[::1]']) {
      uvCode(t, () => tcp.bind(host, 0), 'EINVAL');
      uvCode(t, () => tcp.connect(host, 80, () => {}), 'EINVAL');
    }
    for (const host of ['127.0.0.1\0', '127.0.0.1\0.5', '::1\u0000', '\0']) {
      uvCode(t, () => tcp.bind(host, 0), 'EINVAL');
      uvCode(t, () => tcp.connect(host, 80, () => {}), 'EINVAL');
    }
    for (const port of [-1, 65536, 1.5, NaN, Infinity, 2 ** 32]) {
      t.throws(() => tcp.bind(HOST, port), { instanceOf: RangeError });
      t.throws(() => tcp.connect(HOST, port, () => {}), { instanceOf: RangeError });
    }
    for (const port of ['80', null, 80n]) {
      t.throws(() => tcp.bind(HOST, port as never), { instanceOf: TypeError });
    }
    t.throws(() => tcp.connect(HOST, 80, undefined as never), { instanceOf: TypeError });
    for (const data of [
      'text',
      [1, 2, 3],
      new ArrayBuffer(4),
      new Uint16Array(2),
      new DataView(new ArrayBuffer(2)),
      null,
    ]) {
      t.throws(() => tcp.write(data as never), { instanceOf: TypeError });
    }
    t.throws(() => tcp.write(Buffer.from('x'), 'cb' as never), { instanceOf: TypeError });
    t.throws(() => tcp.listen('1' as never, () => {}), { instanceOf: TypeError });
    t.throws(() => tcp.listen(1.5, () => {}), { instanceOf: RangeError });
    t.throws(() => tcp.listen(2 ** 31, () => {}), { instanceOf: RangeError });
    t.throws(() => tcp.listen(1, null as never), { instanceOf: TypeError });
    t.throws(() => tcp.readStart('cb' as never), { instanceOf: TypeError });
    t.throws(() => tcp.shutdown(1 as never), { instanceOf: TypeError });
    t.throws(() => tcp.accept({} as never), { instanceOf: TypeError });
    t.throws(() => tcp.setNoDelay(1 as never), { instanceOf: TypeError });
    t.throws(() => tcp.setKeepAlive('yes' as never), { instanceOf: TypeError });
    t.throws(() => tcp.setKeepAlive(true, '5' as never), { instanceOf: TypeError });
    for (const delay of [-1, 1.5, NaN, 32768, 2 ** 31]) {
      t.throws(() => tcp.setKeepAlive(true, delay), { instanceOf: RangeError });
    }
    t.throws(() => new Tcp({} as never), { instanceOf: TypeError });
  });
  t.is(calls, 0, 'no FFI function was called');
  uvCode(t, () => tcp.address(), 'EBADF');
  // The count sees calls that are made: a bind that goes through makes some.
  const bound = new Tcp(loop);
  t.true(ffiCallsDuring(() => bound.bind(HOST, 0)) > 0, 'a bind is counted');
  bound.close();
  closeLoop(t, loop);
});

/**
 * Checks a socket's keep-alive idle seconds, probe interval and probe count. Wine 8 refuses
 * TCP_KEEPALIVE (uvts falls back to SIO_KEEPALIVE_VALS there, which cannot be read back), so
 * under it only the log says they went unchecked; real Windows and Unix check all three.
 */
function keepAliveTimings(t: ExecutionContext, tcp: Tcp, [idle, interval, count]: [number, number, number]): void {
  if (onWindows && socketOptionOrNull(tcp, IPPROTO_TCP, TCP_KEEPIDLE) === null) {
    t.log('TCP_KEEPALIVE is not readable here (Wine 8): the keep-alive timings went unchecked');
    return;
  }
  t.is(socketOption(t, tcp, IPPROTO_TCP, TCP_KEEPIDLE), idle, 'idle seconds');
  t.is(socketOption(t, tcp, IPPROTO_TCP, TCP_KEEPINTVL), interval, 'probe interval');
  t.is(socketOption(t, tcp, IPPROTO_TCP, TCP_KEEPCNT), count, 'probe count');
}

test('setNoDelay and setKeepAlive before the socket exists apply when it does, and after it at once', (t) => {
  const loop = new Loop();
  let conn: Tcp | undefined;
  const server = new Tcp(loop).setNoDelay(true).bind(HOST, 0);
  server.listen(1, () => {
    conn = new Tcp(loop).setNoDelay(true).setKeepAlive(true, 60);
    server.accept(conn);
    t.is(socketOption(t, conn, IPPROTO_TCP, TCP_NODELAY), 1, 'accepted: TCP_NODELAY');
    t.is(socketOption(t, conn, SOL_SOCKET, SO_KEEPALIVE), 1, 'accepted: SO_KEEPALIVE');
    keepAliveTimings(t, conn, [60, 1, 10]);
  });
  t.is(socketOption(t, server, IPPROTO_TCP, TCP_NODELAY), 1, 'bound: TCP_NODELAY');

  const client = new Tcp(loop);
  t.is(client.setNoDelay(true), client);
  t.is(client.setKeepAlive(true, 30), client);
  client.connect(HOST, server.address().port, (err) => {
    t.is(err, null);
    t.is(socketOption(t, client, IPPROTO_TCP, TCP_NODELAY), 1);
    t.is(socketOption(t, client, SOL_SOCKET, SO_KEEPALIVE), 1);
    keepAliveTimings(t, client, [30, 1, 10]);

    client.setNoDelay(false).setKeepAlive(false);
    t.is(socketOption(t, client, IPPROTO_TCP, TCP_NODELAY), 0);
    t.is(socketOption(t, client, SOL_SOCKET, SO_KEEPALIVE), 0);
    // Without a delay, keep-alive comes back on with the timings the socket already has.
    client.setKeepAlive(true);
    t.is(socketOption(t, client, SOL_SOCKET, SO_KEEPALIVE), 1);
    keepAliveTimings(t, client, [30, 1, 10]);
    t.throws(() => client.setNoDelay('no' as never), { instanceOf: TypeError });
    t.throws(() => client.setKeepAlive(true, -5), { instanceOf: RangeError });
    client.close();
    server.close();
  });
  loop.run();
  t.truthy(conn, 'the server accepted');
  t.notThrows(() => client.setNoDelay(true).setKeepAlive(true, 10), 'a closed handle only remembers them');
  closeLoop(t, loop);
});

test('a reset connection: the reader gets ECONNRESET from read, and writes after it fail with EPIPE', (t) => {
  const loop = new Loop();
  const server = new Tcp(loop).bind(HOST, 0);
  let readError: UVError | null | undefined;
  server.listen(1, () => {
    const conn = new Tcp(loop);
    server.accept(conn);
    server.close();
    conn.readStart((err, data) => {
      t.is(data, null);
      readError = err;
      t.false(conn.isActive(), 'reading stopped');
      if (!viaLibkqueue(loop)) {
        uvCode(t, () => conn.write(Buffer.from('x')), 'EPIPE');
        uvCode(t, () => conn.readStart(() => {}), 'ENOTCONN');
      }
      conn.close();
    });
  });
  const client = new Tcp(loop);
  client.connect(HOST, server.address().port, (err) => {
    t.is(err, null);
    // SO_LINGER with a zero timeout: close() sends RST instead of FIN (uv_tcp_close_reset).
    t.is(lingerZero(client), 0);
    client.close();
  });
  loop.run();
  if (viaLibkqueue(loop)) {
    // libkqueue reads SO_ERROR to fill the event's fflags, which clears it: the read that
    // follows finds a plain EOF. A real kqueue leaves the error for the read, as epoll does.
    t.is(readError, null);
    closeLoop(t, loop);
    return;
  }
  t.true(readError instanceof UVError);
  t.is(readError?.code, 'ECONNRESET');
  t.is(readError?.syscall, 'read');
  closeLoop(t, loop);
});

unixOnly('reads /proc/self/fd', test.serial)(
  'every fd is closed at the end: /proc/self/fd is as it was before the loop',
  (t) => {
    const before = openFds();
    const loop = new Loop();
    const { server, port } = echoServer(loop);
    const clients = 50;
    let peak = 0;
    let pending = clients + 3;
    const done = (): void => {
      peak = Math.max(peak, openFds().length);
      if (--pending === 0) {
        server.close();
        paused.close();
      }
    };
    for (let i = 0; i < clients; i++) {
      const client = new Tcp(loop);
      client.connect(HOST, port, (err) => {
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
    const paused = new Tcp(loop).bind(HOST, 0);
    paused.listen(1, () => done());
    new Tcp(loop).connect(HOST, paused.address().port, (err) => t.is(err, null));
    // A refused connect, and one closed while in progress.
    const holder = new Tcp(loop).bind(HOST, 0);
    const refused = new Tcp(loop);
    refused.connect(HOST, holder.address().port, (err) => {
      t.is(err?.code, 'ECONNREFUSED');
      refused.close(done);
      holder.close();
    });
    const cancelled = new Tcp(loop);
    cancelled.connect(HOST, port, (err) => t.is(err?.code, 'ECANCELED'));
    cancelled.close(done);
    loop.run();
    t.is(pending, 0);
    t.true(peak > before.length + clients, `${peak} fds were open at the peak`);
    closeLoop(t, loop);
    t.deepEqual(openFds(), before, "the loop's epoll fd, eventfd and reserve fd went with loop.close()");
  },
);

unixOnly('lowers RLIMIT_NOFILE through a shell; Windows has no fd limit of that kind')(
  "out of fds, accept's EMFILE sheds the waiting connections and the loop does not spin",
  async (t) => {
    const fixture = fileURLToPath(new URL('./fixtures/tcp-emfile.js', import.meta.url));
    // Low enough to run out quickly; Node itself starts with about 20 fds open.
    const child = spawn('sh', ['-c', `ulimit -n 64 && exec "${process.execPath}" "${fixture}"`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 50_000, // a safety net only: were the loop to hang, ava reports the failure sooner
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    t.is(code, 0, `the fixture failed:\n${stdout}${stderr}`);
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
      failures: string[];
      outcomes: string[];
      iterations: number;
      limit: number;
      held: number;
    };
    t.deepEqual(result.failures, []);
    t.is(result.held, 4);
    t.is(result.outcomes.length, 40);
    t.true(
      result.outcomes.every((o) => o === 'EOF' || o === 'ECONNRESET'),
      result.outcomes.join(' '),
    );
    t.true(result.iterations > 0 && result.iterations <= result.limit, `${result.iterations} iterations`);
  },
);
