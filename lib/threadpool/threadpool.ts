import { configurePool, poolSize } from './pool.js';

/** The public face of the pool (API.md, `threadpool`). */
export const threadpool = {
  /** UVTS_THREADPOOL_SIZE, else UV_THREADPOOL_SIZE, else 4; fixed once the pool has started. */
  get size(): number {
    return poolSize();
  },
  /** Sets the size before the first request; UVError EBUSY after it. */
  configure(options: { size: number }): void {
    configurePool(options);
  },
};
