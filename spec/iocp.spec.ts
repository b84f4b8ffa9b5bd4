// The iocp backend (docs/design.md, Backends): what can be checked anywhere (its refusal off
// Windows, the OVERLAPPED_ENTRY layout, the wake word's WAKE_IOCP entry), and on Windows (or
// node.exe under Wine) the completion port itself: made with the loop, woken from a worker,
// closed with the loop.
import test from 'ava';
import { Worker } from 'node:worker_threads';
import { OVERLAPPED_ENTRY, tryKernel32 } from '../ffi/win32.js';
import { wakeLoop } from '../lib/backend/wakeup.js';
import { CLOSED, FD, HOW, POLLING, STATE, WAKE_IOCP, WRITERS, createWakeWord } from '../lib/backend/wake-word.js';
import { Async, Loop, Poll, Tcp, Timer } from '../lib/index.js';
import { closeLoop, uvCode } from './support.js';

const WINDOWS = process.platform === 'win32';

test('OVERLAPPED_ENTRY: four fields in 32 bytes, each inside the record and 8-byte fields aligned', (t) => {
  const { size, key, overlapped, internal, bytes } = OVERLAPPED_ENTRY;
  t.is(size, 32);
  t.deepEqual([key, overlapped, internal, bytes], [0, 8, 16, 24]);
  for (const at of [key, overlapped, internal]) t.is(at % 8, 0);
  t.true(bytes + 4 <= size);
});

(WINDOWS ? test.skip : test)("off Windows, 'iocp' is ENOSYS naming Windows, and kernel32 is not bound", (t) => {
  uvCode(t, () => new Loop({ backend: 'iocp' }), 'ENOSYS');
  t.throws(() => new Loop({ backend: 'iocp' }), { message: new RegExp(`only on Windows, not on ${process.platform}`) });
  const k32 = tryKernel32();
  t.true(k32 instanceof Error);
  t.regex((k32 as Error).message, /only on Windows/);
});

(WINDOWS ? test.skip : test)(
  'a WAKE_IOCP wake word found POLLING pokes through kernel32: off Windows that fails loudly, and WRITERS is released',
  (t) => {
    const wake = createWakeWord(WAKE_IOCP, 216);
    t.is(wake[HOW], WAKE_IOCP);
    t.is(wake[FD], 216);
    Atomics.store(wake, STATE, POLLING);
    t.throws(() => wakeLoop(wake), { message: /only on Windows/ });
    t.is(wake[WRITERS], 0);
    Atomics.store(wake, STATE, CLOSED);
  },
);

(WINDOWS ? test : test.skip)(
  "on Windows, 'auto' opens iocp; Tcp runs on it, Poll takes only sockets (ENOTSOCK); close() closes the port",
  (t) => {
    const k32 = tryKernel32();
    if (k32 instanceof Error) return t.fail(k32.message);
    const loop = new Loop();
    t.is(loop.backend, 'iocp');
    const tcp = new Tcp(loop).bind('127.0.0.1', 0);
    t.true(tcp.address().port > 0);
    tcp.close();
    loop.run();
    // Poll is built on AFD polls of sockets (spec/poll.spec.ts runs on Windows); an fd is none.
    uvCode(t, () => new Poll(loop, 0), 'ENOTSOCK');
    const port = (loop as unknown as { io: { wake: Int32Array } }).io.wake[FD] as number;
    t.true(port > 0);
    t.not(k32.PostQueuedCompletionStatus(port, 0, 1, 0), 0, 'the open port takes a packet');
    closeLoop(t, loop);
    t.is(k32.PostQueuedCompletionStatus(port, 0, 1, 0), 0, 'the closed port is gone');
    t.is(k32.GetLastError(), 6, 'ERROR_INVALID_HANDLE');
  },
);

(WINDOWS ? test : test.skip)('on Windows, a worker wakes a loop blocked in its port, 500 times in a row', async (t) => {
  const loop = new Loop();
  const rounds = 500;
  const done = new Int32Array(new SharedArrayBuffer(4));
  let got = 0;
  const async = new Async(loop, () => {
    got++;
    Atomics.store(done, 0, got);
    Atomics.notify(done, 0);
    if (got === rounds) async.close();
  });
  // A timer that never fires keeps the waits finite, so a lost wake fails the test, not the run.
  const guard = new Timer(loop);
  guard.start(() => {}, 60_000);
  guard.unref();
  const source = `
    const { workerData } = require('node:worker_threads');
    import(workerData.url).then(({ AsyncSender }) => {
      const sender = AsyncSender.from(workerData.sender);
      for (let i = 1; i <= workerData.rounds; i++) {
        sender.send();
        while (Atomics.load(workerData.done, 0) < i) Atomics.wait(workerData.done, 0, i - 1, 1000);
      }
    });`;
  const url = new URL('../lib/index.js', import.meta.url).href;
  const worker = new Worker(source, { eval: true, workerData: { url, sender: async.sender(), done, rounds } });
  loop.run();
  t.is(got, rounds);
  await new Promise((resolve) => worker.once('exit', resolve));
  guard.close();
  loop.run();
  closeLoop(t, loop);
});
