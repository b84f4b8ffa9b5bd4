// Loops in worker threads end on time: worker.terminate(), and process.exit() while such workers
// exist, return promptly even while the worker's loop is blocked in epoll_wait or kevent, where
// V8 cannot interrupt it (the backend watches the thread's Node loop, readiness.ts). If either
// hangs, the spec fails by ava's timeout, or the child by its own.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { POLLING, SLEEPING, STATE } from '../lib/backend/wake-word.js';
import { AsyncSender } from '../lib/index.js';
import { unixOnly } from './support.js';

type BlockingBackend = 'epoll' | 'kqueue' | 'futex';

const backends: BlockingBackend[] = ['epoll', 'futex'];
if (process.env.UVTS_KQUEUE_LIB) backends.push('kqueue');

/** A worker whose loop is asleep in its backend: resolved once the wake word says so. */
async function blockedWorker(backend: BlockingBackend): Promise<Worker> {
  const worker = new Worker(new URL('./fixtures/blocked-worker.js', import.meta.url), { workerData: { backend } });
  const { sender } = await new Promise<{ sender: unknown }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const wake = AsyncSender.from(sender).wake;
  const asleep = backend === 'futex' ? SLEEPING : POLLING;
  while (Atomics.load(wake, STATE) !== asleep) await new Promise((resolve) => setTimeout(resolve, 5));
  return worker;
}

for (const backend of backends) {
  (backend === 'futex' ? test : unixOnly(`Unix only: ${backend} is not on Windows`))(
    `worker.terminate() returns while the worker's ${backend} loop is blocked`,
    async (t) => {
      const worker = await blockedWorker(backend);
      t.is(await worker.terminate(), 1, 'terminated, not exited on its own');
    },
  );
}

unixOnly('Unix only: its child blocks workers in epoll_wait too')(
  "process.exit() returns while worker threads' loops are blocked in epoll_wait, kevent and Atomics.wait",
  (t) => {
    const child = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
    const { Worker } = await import('node:worker_threads');
    const { AsyncSender } = await import(${JSON.stringify(new URL('../lib/index.js', import.meta.url).href)});
    const { POLLING, SLEEPING, STATE } = await import(${JSON.stringify(new URL('../lib/backend/wake-word.js', import.meta.url).href)});
    const fixture = ${JSON.stringify(new URL('./fixtures/blocked-worker.js', import.meta.url).href)};
    for (const backend of ${JSON.stringify(backends)}) {
      for (let i = 0; i < 2; i++) {
        const worker = new Worker(new URL(fixture), { workerData: { backend }, execArgv: [] });
        const { sender } = await new Promise((resolve) => worker.once('message', resolve));
        const wake = AsyncSender.from(sender).wake;
        const asleep = backend === 'futex' ? SLEEPING : POLLING;
        while (Atomics.load(wake, STATE) !== asleep) await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    console.log('all blocked');
    process.exit(7);
  `,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    t.is(child.stdout.trim(), 'all blocked', child.stderr);
    t.is(child.signal, null, 'not killed by the timeout');
    t.is(child.status, 7, 'the exit code process.exit() asked for');
  },
);
