import { configurePool, poolSize } from './pool.js';

/**
 * The thread pool that runs fs requests, lookups and {@link queueWork} (libuv's threadpool):
 * one per process, shared by the loops of every thread, started by the first request.
 *
 * @remarks
 * Its size comes from the environment variable UVTS_THREADPOOL_SIZE, else UV_THREADPOOL_SIZE,
 * else is 4, unless {@link threadpool}.configure set it first. libuv reads the variable with
 * atoi and clamps it to 1..1024, so a typo silently gives another size; uvts throws a RangeError
 * that names the variable when the pool starts, since a benchmark run at the wrong size measures
 * the wrong thing.
 */
export const threadpool = {
  /**
   * The number of pool threads: fixed once the pool has started; before that, what it would
   * start with.
   *
   * @throws RangeError if the environment variable is set to anything but an integer from 1 to
   *   1024, naming the variable.
   */
  get size(): number {
    return poolSize();
  },
  /**
   * Sets the pool's size before its first request; it overrides the environment variables.
   *
   * @param options - `size`: the number of threads, an integer from 1 to 1024.
   * @throws TypeError if `options` is not an object or `options.size` is not a number.
   * @throws RangeError if `options.size` is not an integer from 1 to 1024.
   * @throws {@link UVError} EBUSY if the pool has already started.
   */
  configure(options: { size: number }): void {
    configurePool(options);
  },
};
