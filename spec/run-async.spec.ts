// runAsync(): the loop's phases inside Node's own event loop (docs/api.md, on runAsync). Node's
// sockets, fs.promises, timers and promise reactions keep working beside a uvts loop on one thread.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { promises as nodeFs } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Async, Check, Idle, Loop, Poll, Prepare, Tcp, Timer, UVError, fs } from '../lib/index.js';
import { liveWaiters } from '../lib/backend/iocp-waiter.js';
import { closeFds, closeLoop, onWindows, socketPair, unixOnly, writeFd } from './support.js';

const HOST = '127.0.0.1';
const index = new URL('../lib/index.js', import.meta.url).href;

/** Runs `code` (an ES module body with `uvts` imported) in a fresh node; its status, signal and output. */
function child(code: string): { status: number | null; signal: string | null; out: string; err: string } {
  const r = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `const uvts = await import(${JSON.stringify(index)});\n${code}`],
    {
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  return { status: r.status, signal: r.signal, out: r.stdout.trim(), err: r.stderr };
}

test('a uvts Tcp echo server and a node:net client in one thread: 1000 ping-pongs', async (t) => {
  const loop = new Loop();
  const server = new Tcp(loop).bind(HOST, 0);
  server.listen(8, (err) => {
    t.is(err, null);
    const conn = new Tcp(loop);
    server.accept(conn);
    server.close();
    conn.readStart((readErr, data) => {
      t.is(readErr, null);
      if (data === null) conn.close();
      else conn.write(data);
    });
  });
  let pongs = 0;
  const client = net.connect(server.address().port, HOST, () => client.write('ping'));
  client.on('data', (d) => {
    t.is(d.toString(), 'ping');
    if (++pongs < 1000) client.write('ping');
    else client.end();
  });
  t.false(await loop.runAsync());
  t.is(pongs, 1000);
  closeLoop(t, loop);
});

test('a node:net echo server and a uvts Tcp client in one thread: 1000 ping-pongs', async (t) => {
  const server = net.createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as net.AddressInfo;
  const loop = new Loop();
  const client = new Tcp(loop);
  let pongs = 0;
  client.connect(HOST, port, (err) => {
    t.is(err, null);
    client.readStart((readErr, data) => {
      t.is(readErr, null);
      if (data === null) return;
      t.is(data.toString(), 'ping');
      if (++pongs < 1000) client.write(Buffer.from('ping'));
      else client.close();
    });
    client.write(Buffer.from('ping'));
  });
  t.false(await loop.runAsync());
  t.is(pongs, 1000);
  server.close();
  closeLoop(t, loop);
});

test('uvts fs requests and fs.promises in flight together, each with its own answer', async (t) => {
  const loop = new Loop();
  const dir = tmpdir();
  const uvtsStats: boolean[] = [];
  for (let i = 0; i < 50; i++)
    fs.stat(loop, dir, (err, s) => uvtsStats.push(err === null && s !== undefined && s.isDirectory()));
  const running = loop.runAsync();
  const nodeStats = await Promise.all(Array.from({ length: 50 }, () => nodeFs.stat(dir)));
  t.false(await running);
  t.deepEqual(uvtsStats, Array(50).fill(true));
  t.true(nodeStats.every((s) => s.isDirectory()));
  closeLoop(t, loop);
});

test('sends from 4 worker threads wake runAsync: none is lost', async (t) => {
  const loop = new Loop();
  const workers = 4;
  const rounds = 2000;
  const shared = new Int32Array(new SharedArrayBuffer(4 * workers));
  let finished = false;
  const async = new Async(loop, (h) => {
    for (let i = 0; i < workers; i++) if (Atomics.load(shared, i) !== rounds) return;
    finished = true;
    h.close();
  });
  const exits = Array.from({ length: workers }, (_, i) => {
    const w = new Worker(new URL('./fixtures/async-sender.js', import.meta.url), {
      workerData: { mode: 'rounds', sender: async.sender(), shared, index: i, rounds },
    });
    return new Promise((resolve, reject) => {
      w.once('exit', resolve);
      w.once('error', reject);
    });
  });
  t.false(await loop.runAsync());
  t.true(finished);
  t.deepEqual(await Promise.all(exits), Array(workers).fill(0));
  closeLoop(t, loop);
});

test('promise reactions and nextTicks a callback queues run before the next iteration starts', async (t) => {
  const loop = new Loop();
  const seen: string[] = [];
  let iteration = 0;
  // An active Idle keeps the poll from blocking, so the loop turns on its own.
  const idle = new Idle(loop).start(() => {});
  const prepare = new Prepare(loop).start(() => {
    iteration++;
    seen.push(`prepare ${iteration}`);
  });
  const check = new Check(loop).start(() => {
    seen.push(`check ${iteration}`);
    void Promise.resolve().then(() => seen.push(`reaction ${iteration}`));
    process.nextTick(() => seen.push(`tick ${iteration}`));
    if (iteration === 2) {
      idle.close();
      prepare.close();
      check.close();
    }
  });
  await loop.runAsync();
  // Both before the next iteration. Their order among themselves is not Node's (ticks first):
  // an iteration runs in a promise continuation, so its reactions drain before Node's ticks.
  t.deepEqual(seen.slice(0, 2), ['prepare 1', 'check 1']);
  t.deepEqual(seen.slice(2, 4).sort(), ['reaction 1', 'tick 1']);
  t.deepEqual(seen.slice(4, 6), ['prepare 2', 'check 2']);
  t.deepEqual(seen.slice(6).sort(), ['reaction 2', 'tick 2']);
  closeLoop(t, loop);
});

test('a throwing callback rejects runAsync; the next runAsync carries on with what was left', async (t) => {
  const loop = new Loop();
  const boom = new Error('boom');
  const fired: string[] = [];
  const first = new Timer(loop).start(() => {
    fired.push('first');
    throw boom;
  }, 1);
  const second = new Timer(loop).start(() => fired.push('second'), 1);
  await t.throwsAsync(loop.runAsync(), { is: boom });
  t.deepEqual(fired, ['first']);
  t.false(await loop.runAsync());
  t.deepEqual(fired, ['first', 'second']);
  first.close();
  second.close();
  await loop.runAsync();
  closeLoop(t, loop);
});

test("runAsync or run on a loop already running is EBUSY; stop() ends a runAsync waiting in Node's loop", async (t) => {
  const loop = new Loop();
  const async = new Async(loop, () => {});
  const running = loop.runAsync();
  const busy = await loop.runAsync().catch((e: unknown) => e);
  t.true(busy instanceof UVError);
  t.is((busy as UVError).code, 'EBUSY');
  t.throws(() => loop.run(), { instanceOf: UVError, message: /^EBUSY/ });
  t.throws(() => loop.close(), { instanceOf: UVError, message: /^EBUSY/ });
  // The Async keeps the loop alive and waiting; stop() from Node's side ends it.
  setTimeout(() => loop.stop(), 20);
  t.true(await running, 'still alive: stopped, not finished');
  async.close();
  t.false(await loop.runAsync());
  closeLoop(t, loop);
});

test('a Node callback that changes the loop while runAsync waits is seen at once: a timer started, the last handle closed', async (t) => {
  const loop = new Loop();
  const keep = new Async(loop, () => {});
  const seen: string[] = [];
  // The loop waits with no limit (only the Async, which nobody sends to); Node's timer acts.
  setTimeout(() => {
    new Timer(loop).start((h) => {
      seen.push('uvts timer');
      h.close();
      setTimeout(() => {
        seen.push('closing the Async from Node');
        keep.close();
      }, 10);
    }, 10);
  }, 10);
  t.false(await loop.runAsync());
  t.deepEqual(seen, ['uvts timer', 'closing the Async from Node']);
  closeLoop(t, loop);
});

unixOnly('Unix only: a Poll on a socketpair fd', test.serial)(
  "after runAsync returns, an fd left ready does not keep Node's loop busy",
  async (t) => {
    const loop = new Loop();
    const [a, b] = socketPair();
    // Readable once Node's timer writes, while the loop waits in Node's loop; the callback stops
    // the loop without reading, so the fd stays readable after runAsync has returned.
    const poll = new Poll(loop, a).start(Poll.READABLE, () => loop.stop());
    setTimeout(() => writeFd(b, 'x'), 20);
    t.true(await loop.runAsync());
    const before = performance.eventLoopUtilization();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { utilization } = performance.eventLoopUtilization(before);
    // Busy: about 1 (Node's loop finds the fd readable every turn); idle: about 0.
    t.true(utilization < 0.5, `Node's loop was busy ${(utilization * 100).toFixed(0)}% of the time`);
    poll.close();
    loop.run();
    closeFds(a, b);
    closeLoop(t, loop);
  },
);

test.serial(
  "an idle runAsync waits in Node's loop rather than spinning: a 200 ms timer takes a few iterations",
  async (t) => {
    const loop = new Loop();
    const timer = new Timer(loop).start(() => timer.close(), 200);
    await loop.runAsync();
    t.true(loop.metrics().loopCount <= 3, `${loop.metrics().loopCount} iterations`);
    t.true(loop.metrics().idleTime > 0n);
    closeLoop(t, loop);
  },
);

test("the process lives exactly while the loop is alive: a ref'd uvts timer holds it, an unref'd one does not", (t) => {
  // Nothing of Node's own holds these processes: only the uvts loop, through runAsync.
  const held = child(`
    const loop = new uvts.Loop();
    new uvts.Timer(loop).start((h) => { console.log('fired'); h.close(); }, 300);
    console.log('alive', await loop.runAsync());
    loop.close();
  `);
  t.is(held.status, 0, held.err);
  t.is(held.out, 'fired\nalive false');
  const unrefd = child(`
    const loop = new uvts.Loop();
    const long = new uvts.Timer(loop).start(() => console.log('never'), 20_000).unref();
    new uvts.Timer(loop).start((h) => { console.log('short'); h.close(); }, 50);
    console.log('alive', await loop.runAsync());
    long.close();
    await loop.runAsync();
    loop.close();
  `);
  t.is(unrefd.status, 0, unrefd.err);
  t.is(unrefd.signal, null, 'ended on its own, not by the timeout');
  t.is(unrefd.out, 'short\nalive false');
  const dangling = child(`
    const loop = new uvts.Loop();
    new uvts.Async(loop, () => {});
    void loop.runAsync();
    process.on('exit', () => console.log('exited'));
    setTimeout(() => { console.log('still here'); process.exit(3); }, 300);
  `);
  t.is(dangling.out, 'still here\nexited', "a ref'd Async keeps runAsync, and the process, waiting");
  t.is(dangling.status, 3);
});

/**
 * A uvts server with one accepted connection reading (its read pending) once the loop has run
 * its accept (`reading`), and its node:net peer.
 */
async function pendingRead(loop: Loop): Promise<{ close: () => void; reading: () => boolean }> {
  const server = new Tcp(loop).bind(HOST, 0);
  let conn: Tcp | undefined;
  server.listen(1, () => {
    conn = new Tcp(loop);
    server.accept(conn);
    conn.readStart(() => {});
  });
  const peer = net.connect(server.address().port, HOST);
  await new Promise((resolve) => peer.once('connect', resolve));
  return {
    close: () => {
      conn?.close();
      server.close();
      peer.destroy();
    },
    reading: () => conn !== undefined,
  };
}

test('with a read pending, an Async sent from a worker wakes runAsync, and stop() ends its wait', async (t) => {
  const loop = new Loop();
  const io = await pendingRead(loop);
  let sends = 0;
  const async = new Async(loop, () => {
    sends++;
    loop.stop();
  });
  const source = `
    const { workerData } = require('node:worker_threads');
    import(workerData.url).then(({ AsyncSender }) => setTimeout(() => AsyncSender.from(workerData.sender).send(), 50));`;
  const worker = new Worker(source, { eval: true, workerData: { url: index, sender: async.sender() } });
  // Listened for now: the worker ends right after its send, and runAsync gives Node a turn after
  // the Async callback before it resolves, so 'exit' may come before runAsync's promise does.
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  // Only the send, 50 ms on, can end the first wait; a lost one ends at this guard and fails.
  let guarded = false;
  const guard = setTimeout(() => {
    guarded = true;
    loop.stop();
  }, 10_000);
  t.true(await loop.runAsync(), 'stopped by the Async callback, the read still pending');
  t.is(sends, 1);
  t.false(guarded, 'woken by the send, not by the guard');
  clearTimeout(guard);
  await exited;
  setTimeout(() => loop.stop(), 50);
  t.true(await loop.runAsync(), "stop() from Node's side ended the wait");
  t.is(sends, 1);
  async.close();
  io.close();
  t.false(await loop.runAsync());
  closeLoop(t, loop);
});

test('I/O pending while the loop waits: every byte echoed once and in order while Node stops the loop every 2 ms', async (t) => {
  const loop = new Loop();
  const server = new Tcp(loop).bind(HOST, 0);
  let echoed = '';
  server.listen(1, () => {
    const conn = new Tcp(loop);
    server.accept(conn);
    server.close();
    conn.readStart((_err, data) => {
      if (data === null) return conn.close();
      echoed += data.toString();
      conn.write(data);
    });
  });
  const lines = 300;
  let got = '';
  let next = 0;
  // Each line a little later, from Node's timer, so that the loop has nothing ready and waits.
  const client = net.connect(server.address().port, HOST, () => client.write('0\n'));
  client.on('data', (d) => {
    got += d.toString();
    while (got.split('\n').length - 1 > next) {
      next++;
      if (next < lines) setTimeout(() => client.write(`${next}\n`), next % 3);
      else client.end();
    }
  });
  const stopper = setInterval(() => loop.stop(), 2);
  let runs = 0;
  while (await loop.runAsync()) runs++;
  clearInterval(stopper);
  const expected = Array.from({ length: lines }, (_, i) => `${i}\n`).join('');
  t.is(echoed, expected, 'the server read each line once, in order');
  t.is(got, expected);
  t.true(runs > 0, 'stop() ended some waits');
  closeLoop(t, loop);
});

// Serial: liveWaiters counts this process's waiters, and other specs' loops make and end theirs.
(onWindows ? test.serial : test.skip)(
  'on iocp, runAsync with I/O pending waits through a waiter thread, which loop.close() ends',
  async (t) => {
    const before = liveWaiters;
    const loop = new Loop();
    const io = await pendingRead(loop);
    // Closed once the loop, its read pending, has handed a wait to a waiter thread, however long
    // that takes: after a fixed time (100 ms here once), a slow start under load found the
    // handles closed before the loop had waited at all.
    const closer = setInterval(() => {
      if (!io.reading() || liveWaiters === before) return;
      clearInterval(closer);
      io.close();
    }, 5);
    t.false(await loop.runAsync());
    const { idleTime, loopCount } = loop.metrics();
    t.true(idleTime > 0n, `the loop waited: idle ${idleTime} ns in ${loopCount} iterations`);
    t.is(liveWaiters, before + 1, 'through a waiter thread');
    closeLoop(t, loop);
    // The thread's exit event follows loop.close(); wait for it, not for a time.
    for (let i = 0; i < 500 && liveWaiters > before; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    t.is(liveWaiters, before, 'the waiter thread has exited');
  },
);

test('with I/O pending, the process ends with the loop, and process.exit() during a runAsync wait ends it at once', (t) => {
  const listen = `
    const loop = new uvts.Loop();
    const server = new uvts.Tcp(loop).bind('127.0.0.1', 0);
    server.listen(1, () => {});`;
  const ended = child(`${listen}
    setTimeout(() => server.close(), 200);
    console.log('alive', await loop.runAsync());`);
  t.is(ended.status, 0, ended.err);
  t.is(ended.out, 'alive false', 'the loop, left open, does not hold the process');
  // A process held by a thread blocked in the kernel would be killed by child()'s timeout:
  // its status would be null, not 3.
  const exited = child(`${listen}
    setTimeout(() => process.exit(3), 200);
    await loop.runAsync();
    console.log('never');`);
  t.is(exited.status, 3, exited.err);
  t.is(exited.out, '');
});
