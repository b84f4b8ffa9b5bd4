// Helpers shared by the specs. Not a spec file itself (ava runs spec/**/*.spec.ts).
import type { ExecutionContext } from 'ava';
import { performance } from 'node:perf_hooks';
import { Idle, Loop, type Handle } from '../lib/index.js';

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
