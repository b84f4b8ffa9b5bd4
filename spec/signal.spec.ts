// Signal (uv_signal_t): deliveries under run() and runAsync(), to every handle of every loop,
// oneshot, argument checks, and the default action suspended while a handle watches. Signals are
// process-wide, so every case here runs alone (serial); the ones that let a default action
// happen run in a child process.
//
// On Windows a signal is a console event: CTRL_C_EVENT is SIGINT. GenerateConsoleCtrlEvent sends
// it to every process on the console, so each Windows case runs in a child that leaves the
// console it inherited and makes one of its own (FreeConsole, AllocConsole), which only it is on:
// the spec runner and the specs running beside it never see the event.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { POLLING } from '../lib/backend/wake-word.js';
import { Async, Loop, Signal, Timer, UVError } from '../lib/index.js';
import { closeLoop, onWindows, unixOnly, uvCode } from './support.js';

const posix = unixOnly('Unix only: POSIX signals raised with process.kill', test.serial);

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

posix('a signal reaches a loop blocked in run(): sent from another thread while it waits in the kernel', async (t) => {
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
});

posix('a signal reaches runAsync(), sent from a Node timer', async (t) => {
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

posix('every handle of every loop gets each delivery; a loop that runs later gets it then', (t) => {
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

posix('a signal reaches a loop in a worker thread too', async (t) => {
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

posix('startOneshot: one delivery, then the handle is stopped; start again replaces the signal', (t) => {
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

posix('a throwing callback leaves run(); the deliveries after it come in the next run', (t) => {
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
  'bad arguments throw before anything changes: uncatchable signals, unknown names, a missing callback',
  (t) => {
    const loop = new Loop();
    const signal = new Signal(loop);
    // A name this platform has: SIGUSR2 on Unix; Windows lists SIGINT, SIGBREAK, SIGHUP, SIGWINCH...
    const valid = onWindows ? 'SIGBREAK' : 'SIGUSR2';
    if (onWindows) {
      // Windows has no SIGSTOP, and libuv there refuses only numbers out of range: SIGKILL
      // (which no console event raises) is watched like any other.
      t.throws(() => signal.startOneshot(() => {}, 'SIGSTOP'), {
        instanceOf: TypeError,
        code: 'ERR_UNKNOWN_SIGNAL',
      } as never);
      t.throws(() => signal.start(() => {}, 'SIGUSR2'), { instanceOf: TypeError, code: 'ERR_UNKNOWN_SIGNAL' } as never);
      signal.start(() => {}, 'SIGKILL');
      t.is(signal.signal, 'SIGKILL');
      signal.stop();
    } else {
      uvCode(t, () => signal.start(() => {}, 'SIGKILL'), 'EINVAL');
      uvCode(t, () => signal.startOneshot(() => {}, 'SIGSTOP'), 'EINVAL');
    }
    t.throws(() => signal.start(() => {}, 'SIGNOPE'), { instanceOf: TypeError, code: 'ERR_UNKNOWN_SIGNAL' } as never);
    t.throws(() => signal.start(() => {}, 'toString'), { instanceOf: TypeError, code: 'ERR_UNKNOWN_SIGNAL' } as never);
    t.throws(() => signal.start(() => {}, 12 as never), { instanceOf: TypeError });
    t.throws(() => signal.start(undefined as never, valid), { instanceOf: TypeError });
    t.false(signal.isActive());
    t.is(signal.signal, null);
    t.throws(() => new Signal({} as never), { instanceOf: TypeError });
    signal.close();
    t.throws(() => signal.start(() => {}, valid), { instanceOf: UVError });
    loop.run();
    closeLoop(t, loop);
    const futex = new Loop({ backend: 'futex' });
    uvCode(t, () => new Signal(futex), 'ENOSYS');
    closeLoop(t, futex);
  },
);

test.serial(
  'an active Signal keeps its loop alive; unref() lets run() return, and start and stop work without a delivery',
  (t) => {
    const loop = new Loop();
    const name = onWindows ? 'SIGINT' : 'SIGUSR2';
    const signal = new Signal(loop).start(() => t.fail('no signal was raised'), name).unref();
    t.true(signal.isActive());
    t.false(loop.run(), "an unref'd Signal does not keep the loop alive");
    signal.ref().stop();
    t.false(signal.isActive());
    t.false(loop.run(), 'a stopped Signal does not keep the loop alive');
    // A stopped handle is started again, and a second one on the same loop reuses nothing of it.
    const other = new Signal(loop).start(() => t.fail('no signal was raised'), name);
    signal.start(() => t.fail('no signal was raised'), name);
    signal.close();
    other.close();
    loop.run();
    closeLoop(t, loop);
    // A loop that had Signals makes new ones after they all closed.
    const again = new Loop();
    new Signal(again).start(() => {}, name).close();
    again.run();
    closeLoop(t, again);
  },
);

posix('the default action is suspended while any handle watches, and back once the last one stops', (t) => {
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

posix('a Timer-driven program: the signal arrives between timer callbacks without loss', (t) => {
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

// The Windows cases: each runs its body in a child on a console of its own (see the top).

/** test.serial on Windows; elsewhere the same registration skipped, with the reason. */
const windows = (
  onWindows
    ? test.serial
    : (title: string, ...rest: unknown[]) =>
        (test.serial.skip as (title: string, ...rest: unknown[]) => void)(
          `${title} [skipped off Windows: console control events]`,
          ...rest,
        )
) as typeof test.serial;

/**
 * What every child runs first: uvts, kernel32's console calls through koffi, a console of its
 * own, ctrlC() (CTRL_C_EVENT to that console: SIGINT), and out() for a JSON line to the spec.
 */
const prelude = `
  const { Async, Loop, Signal, UVError } = await import(${JSON.stringify(index)});
  const { createRequire } = await import('node:module');
  const koffi = createRequire(${JSON.stringify(index)})('koffi');
  const k32 = koffi.load('kernel32.dll');
  const FreeConsole = k32.func('int FreeConsole(void)');
  const AllocConsole = k32.func('int AllocConsole(void)');
  const GenerateConsoleCtrlEvent = k32.func('int GenerateConsoleCtrlEvent(uint32_t event, uint32_t group)');
  const GetLastError = k32.func('uint32_t GetLastError(void)');
  FreeConsole();
  if (!AllocConsole()) throw new Error('AllocConsole failed: ' + GetLastError());
  const ctrlC = () => {
    if (!GenerateConsoleCtrlEvent(0, 0)) throw new Error('GenerateConsoleCtrlEvent failed: ' + GetLastError());
  };
  const out = (v) => process.stdout.write(JSON.stringify(v) + '\\n');
  const until = (loop, done) => { while (!done()) loop.run('once'); };
`;

/** Runs `body` after the prelude in a child: its exit status and the values it wrote with out(). */
function consoleChild(body: string): { status: number | null; lines: unknown[]; stderr: string } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', prelude + body], {
    encoding: 'utf8',
    timeout: 50_000,
  });
  if (r.error !== undefined) throw r.error;
  const lines = r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as unknown);
  return { status: r.status, lines, stderr: r.stderr };
}

windows('CTRL_C is SIGINT to a Signal under run(): the loop blocks in its port until the packet comes', (t) => {
  // The console's handler runs on a thread of its own, so the packet may come before or after
  // the loop blocks; run() returns once the callback has closed the handle either way.
  const r = consoleChild(`
    const loop = new Loop();
    const seen = [];
    const signal = new Signal(loop).start((h, name) => {
      seen.push([name, h === signal, h.isActive()]);
      h.close();
    }, 'SIGINT');
    ctrlC();
    out(loop.run());
    out(seen);
    loop.close();
    out('closed');
  `);
  t.is(r.status, 0, r.stderr);
  t.deepEqual(r.lines, [false, [['SIGINT', true, true]], 'closed']);
});

windows('every Signal on SIGINT of every loop gets each CTRL_C; a loop that runs later gets it then', (t) => {
  const r = consoleChild(`
    const a = new Loop();
    const b = new Loop();
    const seen = [];
    const handles = [
      new Signal(a).start(() => seen.push('a1'), 'SIGINT'),
      new Signal(a).start(() => seen.push('a2'), 'SIGINT'),
      new Signal(b).start(() => seen.push('b1'), 'SIGINT'),
    ];
    ctrlC();
    until(a, () => seen.length === 2);
    out(seen.slice().sort());
    until(b, () => seen.length === 3);
    out(seen.slice().sort());
    ctrlC();
    until(a, () => seen.length === 5);
    until(b, () => seen.length === 6);
    out(seen.slice(3).sort());
    for (const h of handles) h.close();
    a.run();
    b.run();
    a.close();
    b.close();
    out('closed');
  `);
  t.is(r.status, 0, r.stderr);
  t.deepEqual(r.lines, [['a1', 'a2'], ['a1', 'a2', 'b1'], ['a1', 'a2', 'b1'], 'closed']);
});

windows('startOneshot: one CTRL_C, then stopped before its callback; start again replaces the callback', (t) => {
  const r = consoleChild(`
    const loop = new Loop();
    const seen = [];
    const once = new Signal(loop).startOneshot((h, name) => seen.push(['once', name, h.signal, h.isActive()]), 'SIGINT');
    let kept = 0;
    const keep = new Signal(loop).start(() => kept++, 'SIGINT');
    ctrlC();
    until(loop, () => kept === 1 && seen.length === 1);
    ctrlC();
    until(loop, () => kept === 2);
    keep.start((_h, name) => seen.push(['now', name]), 'SIGINT');
    ctrlC();
    until(loop, () => seen.length === 2);
    out(seen);
    once.close();
    keep.close();
    loop.run();
    loop.close();
    out('closed');
  `);
  t.is(r.status, 0, r.stderr);
  t.deepEqual(r.lines, [
    [
      ['once', 'SIGINT', null, false],
      ['now', 'SIGINT'],
    ],
    'closed',
  ]);
});

windows(
  'a Signal stopped or closed as CTRL_C comes gets nothing, its packet in flight or not; its memory serves the next Signal',
  (t) => {
    const r = consoleChild(`
    const a = new Loop();
    const b = new Loop();
    const seen = [];
    let witness = 0;
    // b's handle says the handler has dispatched; a's two may have their packets in a's port.
    new Signal(b).start(() => witness++, 'SIGINT');
    const stopped = new Signal(a).start(() => seen.push('stopped'), 'SIGINT');
    const closed = new Signal(a).start(() => seen.push('closed'), 'SIGINT');
    ctrlC();
    until(b, () => witness === 1);
    stopped.stop();
    closed.close();
    a.run();
    out([seen, stopped.isActive(), a.run()]);
    // Made after the close: a new uv_signal_t or the closed one's, once no packet can reach it.
    const fresh = new Signal(a).start(() => seen.push('fresh'), 'SIGINT');
    ctrlC();
    until(b, () => witness === 2);
    until(a, () => seen.length === 1);
    out(seen);
    stopped.close();
    fresh.close();
    a.run();
    a.close();
    b.walk((h) => h.close());
    b.run();
    b.close();
    out('closed');
  `);
    t.is(r.status, 0, r.stderr);
    t.deepEqual(r.lines, [[[], false, false], ['fresh'], 'closed']);
  },
);

windows('a throwing callback leaves run(); the deliveries after it come in the next run', (t) => {
  const r = consoleChild(`
    const loop = new Loop();
    const seen = [];
    const boom = new Error('boom');
    const first = new Signal(loop).start(() => { seen.push('first'); throw boom; }, 'SIGINT');
    const second = new Signal(loop).start(() => seen.push('second'), 'SIGINT');
    ctrlC();
    let thrown = 0;
    while (seen.length < 2) {
      try { loop.run('once'); } catch (err) { if (err !== boom) throw err; thrown++; }
    }
    out([seen.sort(), thrown]);
    first.close();
    second.close();
    loop.run();
    loop.close();
    out('closed');
  `);
  t.is(r.status, 0, r.stderr);
  t.deepEqual(r.lines, [[['first', 'second'], 1], 'closed']);
});

windows('the process is not ended by CTRL_C while a Signal watches SIGINT, and is once the last one stops', (t) => {
  const r = consoleChild(`
    const loop = new Loop();
    let got = 0;
    const signal = new Signal(loop).start(() => got++, 'SIGINT');
    ctrlC();
    until(loop, () => got === 1);
    out('survived');
    signal.close();
    loop.run();
    loop.close();
    out('closed');
    ctrlC();
    // Windows ends the process from the handler's thread; this waits for that without a timer.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30000);
    out('not ended');
  `);
  // Ended before it printed 'not ended'. Windows ends it with STATUS_CONTROL_C_EXIT; Wine 8's
  // default handler exits with 0, so the status is not asserted.
  t.deepEqual(r.lines, ['survived', 'closed'], r.stderr);
});

windows('a CTRL_C sent while runAsync() waits reaches its Signal through the waiter thread', (t) => {
  // Sent from a Node timer, so it comes while Node's loop waits on runAsync's word and the
  // waiter thread is the one blocked in the port.
  const r = consoleChild(`
    const loop = new Loop();
    const seen = [];
    const signal = new Signal(loop).start((h, name) => {
      seen.push([name, h === signal]);
      h.close();
    }, 'SIGINT');
    setTimeout(ctrlC, 50);
    out(await loop.runAsync());
    out(seen);
    loop.close();
    out('closed');
  `);
  t.is(r.status, 0, r.stderr);
  t.deepEqual(r.lines, [false, [['SIGINT', true]], 'closed']);
});
