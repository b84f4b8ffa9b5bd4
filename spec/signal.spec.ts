// Signal (uv_signal_t): deliveries under run() and runAsync(), to every handle of every loop,
// oneshot, argument checks, and the default action suspended while a handle watches. Signals are
// process-wide, so every case here runs alone (serial); the ones that let a default action
// happen run in a child process.
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { POLLING } from '../lib/backend/wake-word.js';
import { Async, Loop, Signal, Timer, UVError } from '../lib/index.js';
import { closeLoop, uvCode, unixOnlyFile } from './support.js';

const test = unixOnlyFile('Unix only: Signal handles are POSIX signals');

const index = new URL('../lib/index.js', import.meta.url).href;

/** Kills this process with `signal` from a worker thread once `wake` says the loop blocks in its kernel. */
function killWhenPolling(wake: Int32Array, signal: string): Promise<unknown> {
  const worker = new Worker(
    `
    const { workerData: { wake, signal } } = require('node:worker_threads');
    while (Atomics.load(wake, 0) !== ${POLLING}) Atomics.wait(wake, 0, Atomics.load(wake, 0), 1);
    process.kill(process.pid, signal);
  `,
    { eval: true, workerData: { wake, signal } },
  );
  return new Promise((resolve, reject) => {
    worker.once('exit', resolve);
    worker.once('error', reject);
  });
}

test.serial(
  'a signal reaches a loop blocked in run(): sent from another thread while it waits in the kernel',
  async (t) => {
    const loop = new Loop();
    const seen: string[] = [];
    const async = new Async(loop, () => {});
    const signal = new Signal(loop).start((h, name) => {
      seen.push(name);
      t.is(h, signal);
      h.close();
      async.close();
    }, 'SIGUSR2');
    t.is(signal.signal, 'SIGUSR2');
    t.true(signal.isActive());
    const killed = killWhenPolling(async.sender().wake, 'SIGUSR2');
    t.false(loop.run());
    t.deepEqual(seen, ['SIGUSR2']);
    t.is(await killed, 0);
    closeLoop(t, loop);
  },
);

test.serial('a signal reaches runAsync(), sent from a Node timer', async (t) => {
  const loop = new Loop();
  const seen: string[] = [];
  new Signal(loop).start((h, name) => {
    seen.push(name);
    h.close();
  }, 'SIGUSR1');
  setTimeout(() => process.kill(process.pid, 'SIGUSR1'), 20);
  t.false(await loop.runAsync());
  t.deepEqual(seen, ['SIGUSR1']);
  closeLoop(t, loop);
});

test.serial('every handle of every loop gets each delivery; a loop that runs later gets it then', (t) => {
  const a = new Loop();
  const b = new Loop();
  const seen: string[] = [];
  const handles = [
    new Signal(a).start(() => seen.push('a1'), 'SIGUSR2'),
    new Signal(a).start(() => seen.push('a2'), 'SIGUSR2'),
    new Signal(b).start(() => seen.push('b1'), 'SIGUSR2'),
  ];
  process.kill(process.pid, 'SIGUSR2');
  a.run('once');
  t.deepEqual(seen.sort(), ['a1', 'a2']);
  b.run('once');
  t.deepEqual(seen.sort(), ['a1', 'a2', 'b1']);
  for (const h of handles) h.close();
  a.run();
  b.run();
  closeLoop(t, a);
  closeLoop(t, b);
});

test.serial('a signal reaches a loop in a worker thread too', async (t) => {
  const worker = new Worker(
    `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(index)}).then(({ Loop, Signal }) => {
      const loop = new Loop();
      const s = new Signal(loop).start((h, name) => { parentPort.postMessage(name); h.close(); }, 'SIGUSR2');
      parentPort.postMessage('ready');
      loop.run();
      loop.close();
    });
  `,
    { eval: true },
  );
  const messages: unknown[] = [];
  const exited = new Promise((resolve, reject) => {
    worker.on('message', (m) => {
      messages.push(m);
      if (m === 'ready') process.kill(process.pid, 'SIGUSR2');
    });
    worker.once('exit', resolve);
    worker.once('error', reject);
  });
  t.is(await exited, 0);
  t.deepEqual(messages, ['ready', 'SIGUSR2']);
});

test.serial('startOneshot: one delivery, then the handle is stopped; start again replaces the signal', (t) => {
  const loop = new Loop();
  const seen: string[] = [];
  const once = new Signal(loop).startOneshot((h, name) => {
    seen.push(name);
    t.is(h.signal, null, 'stopped before its callback');
    t.false(h.isActive());
  }, 'SIGUSR1');
  const keep = new Signal(loop).start(() => seen.push('keep'), 'SIGUSR1');
  process.kill(process.pid, 'SIGUSR1');
  loop.run('once');
  process.kill(process.pid, 'SIGUSR1');
  loop.run('once');
  t.deepEqual(
    seen.filter((s) => s !== 'keep'),
    ['SIGUSR1'],
  );
  t.is(seen.filter((s) => s === 'keep').length, 2);
  keep.start((_h, name) => seen.push(`now ${name}`), 'SIGUSR2');
  t.is(keep.signal, 'SIGUSR2');
  process.kill(process.pid, 'SIGUSR2');
  loop.run('once');
  t.is(seen.at(-1), 'now SIGUSR2');
  once.close();
  keep.close();
  loop.run();
  closeLoop(t, loop);
});

test.serial('a throwing callback leaves run(); the deliveries after it come in the next run', (t) => {
  const loop = new Loop();
  const boom = new Error('boom');
  const seen: string[] = [];
  const first = new Signal(loop).start(() => {
    seen.push('first');
    throw boom;
  }, 'SIGUSR2');
  const second = new Signal(loop).start(() => seen.push('second'), 'SIGUSR2');
  process.kill(process.pid, 'SIGUSR2');
  t.throws(() => loop.run('once'), { is: boom });
  loop.run('nowait');
  t.deepEqual(seen.sort(), ['first', 'second']);
  first.close();
  second.close();
  loop.run();
  closeLoop(t, loop);
});

test.serial(
  'bad arguments throw before anything changes: SIGKILL and SIGSTOP, unknown names, a missing callback',
  (t) => {
    const loop = new Loop();
    const signal = new Signal(loop);
    uvCode(t, () => signal.start(() => {}, 'SIGKILL'), 'EINVAL');
    uvCode(t, () => signal.startOneshot(() => {}, 'SIGSTOP'), 'EINVAL');
    t.throws(() => signal.start(() => {}, 'SIGNOPE'), { instanceOf: TypeError, code: 'ERR_UNKNOWN_SIGNAL' } as never);
    t.throws(() => signal.start(() => {}, 'toString'), { instanceOf: TypeError, code: 'ERR_UNKNOWN_SIGNAL' } as never);
    t.throws(() => signal.start(() => {}, 12 as never), { instanceOf: TypeError });
    t.throws(() => signal.start(undefined as never, 'SIGUSR2'), { instanceOf: TypeError });
    t.false(signal.isActive());
    t.is(signal.signal, null);
    t.throws(() => new Signal({} as never), { instanceOf: TypeError });
    signal.close();
    t.throws(() => signal.start(() => {}, 'SIGUSR2'), { instanceOf: UVError });
    loop.run();
    closeLoop(t, loop);
    const futex = new Loop({ backend: 'futex' });
    uvCode(t, () => new Signal(futex), 'ENOSYS');
    closeLoop(t, futex);
  },
);

test.serial('the default action is suspended while any handle watches, and back once the last one stops', (t) => {
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `
    const { Loop, Signal } = await import(${JSON.stringify(index)});
    const loop = new Loop();
    const seen = [];
    const a = new Signal(loop).start(() => seen.push('a'), 'SIGUSR2');
    const b = new Signal(loop).start(() => seen.push('b'), 'SIGUSR2');
    process.kill(process.pid, 'SIGUSR2');
    loop.run('once');
    a.stop();
    process.kill(process.pid, 'SIGUSR2');
    loop.run('once');
    b.stop();
    console.log(JSON.stringify(seen.sort()));
    process.kill(process.pid, 'SIGUSR2');
    loop.run('nowait');
    console.log('survived');
  `,
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  t.is(r.error, undefined, 'the child started');
  t.is(r.stdout.trim(), '["a","b","b"]', r.stderr);
  t.is(r.signal, 'SIGUSR2', 'the last kill took the default action');
});

test.serial('a Timer-driven program: the signal arrives between timer callbacks without loss', (t) => {
  const loop = new Loop();
  let sent = 0;
  let got = 0;
  const signal = new Signal(loop).start(() => got++, 'SIGUSR1');
  const timer = new Timer(loop).start(
    (h) => {
      process.kill(process.pid, 'SIGUSR1');
      if (++sent === 5) {
        h.close();
        // The last one is read in the poll phase after the timer closed.
        new Timer(loop).start((last) => {
          last.close();
          signal.close();
        }, 20);
      }
    },
    5,
    5,
  );
  loop.run();
  t.is(sent, 5);
  // libuv coalesces nothing here: each kill was read before the next (5 ms apart).
  t.is(got, 5);
  t.false(timer.isActive());
  closeLoop(t, loop);
});
