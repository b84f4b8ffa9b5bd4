// How many threads the pool runs, from the environment: the one parser of UVTS_THREADPOOL_SIZE
// and UV_THREADPOOL_SIZE, which the benchmarks import too, so every side of a measurement gets
// the size uvts would choose.

/** libuv's MAX_THREADPOOL_SIZE. */
export const MAX_SIZE = 1024;
/** libuv's default when UV_THREADPOOL_SIZE is unset. */
export const DEFAULT_SIZE = 4;

/**
 * The size from the environment: UVTS_THREADPOOL_SIZE, else UV_THREADPOOL_SIZE, else 4.
 * uv_threadpool's init_threads departs here: libuv reads the value with atoi and clamps it to
 * 1..1024, so "0", "abc" or "64k" silently become another size; uvts throws a RangeError that
 * names the variable, as a benchmark run at the wrong size measures the wrong thing.
 */
export function sizeFromEnvironment(env: Readonly<Record<string, string | undefined>> = process.env): number {
  for (const name of ['UVTS_THREADPOOL_SIZE', 'UV_THREADPOOL_SIZE']) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!/^\s*\d+\s*$/.test(raw) || n < 1 || n > MAX_SIZE) {
      throw new RangeError(`${name} must be an integer from 1 to ${MAX_SIZE}, got ${JSON.stringify(raw)}`);
    }
    return n;
  }
  return DEFAULT_SIZE;
}
