// What the kqueue backend does differently from epoll, through the library UVTS_KQUEUE_LIB
// names (libkqueue on Linux). The rest of the suite runs on kqueue too (npm run test:kqueue);
// these cases are kqueue's own: EV_EOF, EVFILT_USER wakeups, fd reuse, full event lists, and
// the fds a kqueue loop holds.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { SHUT_WR } from '../ffi/libc.js';
import { liveWaiters } from '../lib/backend/kqueue-waiter.js';
import { Async, Loop, Poll, Tcp } from '../lib/index.js';
import {
  closeFds,
  closeLoop,
  openFds,
  readFd,
  socketPair,
  specLibc,
  uvCode,
  wakeFromKernelEveryTime,
  writeFd,
} from './support.js';

const library = process.env.UVTS_KQUEUE_LIB;
const runs = process.platform === 'linux' ? library !== undefined && library !== '' : process.platform !== 'win32';
const kqueueTest = runs ? test : test.skip;
const skipped = runs
  ? ''
  : process.platform === 'win32'
    ? " [skipped on Windows: Unix only: kqueue is macOS's and FreeBSD's (libkqueue on Linux)]"
    : ' (SKIPPED: UVTS_KQUEUE_LIB is not set)';

function kqueueLoop(): Loop {
  return new Loop({ backend: 'kqueue' });
}

kqueueTest(
  `EV_EOF on the read filter is DISCONNECT: the peer closing, and the peer shutting down its side${skipped}`,
  (t) => {
    const loop = kqueueLoop();
    t.is(loop.backend, 'kqueue');
    const seen: number[] = [];
    for (const end of ['close', 'shutdown'] as const) {
      const [a, b] = socketPair();
      const poll = new Poll(loop, a).start(Poll.READABLE | Poll.DISCONNECT, (err, events) => {
        t.is(err, null);
        seen.push(events);
        poll.close();
      });
      if (end === 'close') closeFds(b);
      else t.is(specLibc().shutdown(b, SHUT_WR), 0);
      loop.run();
      t.is(seen.at(-1), Poll.READABLE | Poll.DISCONNECT, `after the peer's ${end}`);
      closeFds(a);
      if (end === 'shutdown') closeFds(b);
    }
    closeLoop(t, loop);
  },
);

kqueueTest(`DISCONNECT alone fires once the peer is gone, not for data that waits unread${skipped}`, (t) => {
  const loop = kqueueLoop();
  const [a, b] = socketPair();
  writeFd(b, 'unread');
  let calls = 0;
  let events = 0;
  const poll = new Poll(loop, a).start(Poll.DISCONNECT, (err, ev) => {
    t.is(err, null);
    calls++;
    events = ev;
    poll.close();
  });
  // Data alone does not call back, nor keep the loop turning (the edge-triggered filter).
  for (let i = 0; i < 20; i++) loop.run('nowait');
  t.is(calls, 0);
  t.true(loop.metrics().loopCount >= 20);
  closeFds(b);
  loop.run();
  t.is(calls, 1);
  t.is(events, Poll.DISCONNECT);
  closeFds(a);
  closeLoop(t, loop);
});

kqueueTest(`each of 200 sends from a worker wakes the loop from kevent through EVFILT_USER${skipped}`, async (t) => {
  const loop = kqueueLoop();
  await wakeFromKernelEveryTime(t, loop, 200);
  closeLoop(t, loop);
});

kqueueTest(
  `8 workers × 2000 sends to a loop in kevent: none is lost, the last callback sees every worker's last${skipped}`,
  async (t) => {
    const loop = kqueueLoop();
    const [a, b] = socketPair();
    const idle = new Poll(loop, a).start(Poll.READABLE, () => t.fail('nothing is written'));
    const workers = 8;
    const rounds = 2000;
    const shared = new Int32Array(new SharedArrayBuffer(4 * workers));
    let finished = false;
    const async = new Async(loop, (h) => {
      for (let i = 0; i < workers; i++) if (Atomics.load(shared, i) !== rounds) return;
      finished = true;
      h.close();
      idle.close();
    });
    const exits = Array.from({ length: workers }, (_, index) => {
      const worker = new Worker(new URL('./fixtures/async-sender.js', import.meta.url), {
        workerData: { mode: 'rounds', sender: async.sender(), shared, index, rounds },
      });
      return new Promise((resolve, reject) => {
        worker.once('error', reject);
        worker.once('exit', resolve);
      });
    });
    t.false(loop.run());
    t.true(finished);
    t.deepEqual(await Promise.all(exits), Array(workers).fill(0));
    closeFds(a, b);
    closeLoop(t, loop);
  },
);

kqueueTest(`an fd number closed and reused is watched afresh: its filters went before the close${skipped}`, (t) => {
  const loop = kqueueLoop();
  const [a, b] = socketPair();
  const first = new Poll(loop, a).start(Poll.READABLE, () => t.fail('never readable'));
  loop.run('nowait');
  first.close();
  loop.run();
  closeFds(a);
  const [c, d] = socketPair();
  t.is(c, a, 'the kernel hands out the lowest free number');
  writeFd(d, 'x');
  let events = 0;
  const second = new Poll(loop, c).start(Poll.READABLE, (err, ev) => {
    t.is(err, null);
    events = ev;
    second.close();
  });
  loop.run();
  t.is(events, Poll.READABLE);
  closeFds(b, c, d);
  closeLoop(t, loop);
});

kqueueTest(
  `1100 ready fds all run in one poll phase, past the event list and libkqueue's 512 per call${skipped}`,
  (t) => {
    const loop = kqueueLoop();
    const pairs = Array.from({ length: 1100 }, () => socketPair());
    let ran = 0;
    const polls = pairs.map(([a, b]) => {
      writeFd(b, 'x');
      // Read, so each fd is ready once: the lists polled again within the phase find the rest.
      return new Poll(loop, a).start(Poll.READABLE, () => {
        t.is(readFd(a), 'x');
        ran++;
      });
    });
    // The first iteration registers them and polls; every ready fd must run in that poll phase.
    loop.run('once');
    t.is(ran, 1100);
    for (const p of polls) p.close();
    loop.run();
    for (const [a, b] of pairs) closeFds(a, b);
    closeLoop(t, loop);
  },
);

kqueueTest(`a Tcp echo on kqueue: a refused connect reports ECONNREFUSED, and no fd is left behind${skipped}`, (t) => {
  const before = openFds();
  const loop = kqueueLoop();
  const server = new Tcp(loop).bind('127.0.0.1', 0);
  const port = server.address().port;
  server.close();
  let refused = '';
  const client = new Tcp(loop);
  client.connect('127.0.0.1', port, (err) => {
    refused = err?.code ?? 'none';
    client.close();
  });
  loop.run();
  t.is(refused, 'ECONNREFUSED', 'from the event, even where the socket no longer holds it (libkqueue)');
  closeLoop(t, loop);
  t.deepEqual(openFds(), before, 'the kqueue, its wake filter and every socket went with the loop');
});

test('UVTS_BACKEND picks what auto opens; a bad value is a TypeError naming it; kqueue without a library says how to get one', (t) => {
  const index = new URL('../lib/index.js', import.meta.url).pathname;
  const probe = (env: Record<string, string>, options: string): string =>
    execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
    const { Loop } = await import(${JSON.stringify(index)});
    try { const l = new Loop(${options}); console.log(l.backend); l.close(); }
    catch (e) { console.log(e.constructor.name + ' ' + (e.code ?? '') + ' ' + e.message); }
  `,
      ],
      { env: { ...process.env, ...env }, encoding: 'utf8' },
    ).trim();
  t.is(probe({ UVTS_BACKEND: 'futex' }, ''), 'futex');
  t.is(probe({ UVTS_BACKEND: '' }, "{ backend: 'futex' }"), 'futex', 'an explicit backend is not overridden');
  t.regex(
    probe({ UVTS_BACKEND: 'select' }, ''),
    /^TypeError {2}UVTS_BACKEND must be 'epoll', 'kqueue', 'iocp' or 'futex', got "select"/,
  );
  if (process.platform === 'linux') {
    const out = probe({ UVTS_BACKEND: '', UVTS_KQUEUE_LIB: '' }, "{ backend: 'kqueue' }");
    t.regex(out, /^UVError ENOSYS /);
    t.true(out.includes('UVTS_KQUEUE_LIB'), out);
    uvCode(t, () => new Loop({ backend: 'iocp' }), 'ENOSYS');
  }
});

(runs ? test : test.skip)(
  `runAsync on kqueue waits through a waiter thread, which loop.close() ends${skipped}`,
  async (t) => {
    const before = liveWaiters;
    const loop = kqueueLoop();
    const server = new Tcp(loop).bind('127.0.0.1', 0);
    server.listen(1, () => {
      const conn = new Tcp(loop);
      server.accept(conn);
      server.close();
      conn.readStart((_err, data) => (data === null ? conn.close() : conn.write(data)));
    });
    let pongs = 0;
    // Each ping a little later, from Node's timer, so the loop has nothing ready and must wait.
    const client = net.connect(server.address().port, '127.0.0.1', () => client.write('ping'));
    client.on('data', () => (++pongs < 20 ? setTimeout(() => client.write('ping'), 2) : client.end()));
    t.false(await loop.runAsync());
    t.is(pongs, 20);
    t.is(liveWaiters, before + 1, 'the loop waited through a waiter thread');
    closeLoop(t, loop);
    // The thread's exit event follows loop.close(); wait for it, not for a time.
    for (let i = 0; i < 500 && liveWaiters > before; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    t.is(liveWaiters, before, 'the waiter thread has exited');
  },
);
