// The driver shared by the blocking-work suites: N requests in flight, each completion issuing
// the next, for a fixed time after a warm-up. The warm-up counts from the first completion, so
// a pool's start (threads booting, often 100-300 ms here) does not eat into it. Completions are
// counted over the measured window only: it opens at the first completion after the warm-up and
// closes at the first one after MEASURE_MS more, so both ends are completions and no side is
// charged for its start-up or for the requests still in flight at the end.
// The pool size every side gets, and a temp file to stat, live here too.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

export const WARMUP_MS = 500;
export const MEASURE_MS = 1500;

/** Called once per request by the driver; calls `done` exactly once when the request completes. */
export type Issue = (done: (err?: unknown) => void) => void;

export interface Window {
  /** Completions in the measured window. */
  completions: number;
  ms: number;
  perSecond: number;
  /** Mean time per completion in the window, in µs; at 1 in flight, the round trip. */
  usPer: number;
}

/**
 * Keeps `inFlight` requests going until the window has closed, then lets them drain.
 * `drained` runs once the last one has completed (synchronously inside that completion).
 * The first error stops issuing; `result()` throws it once everything has drained.
 */
export class ClosedLoop {
  private active = 0;
  private completions = 0;
  private phase: 'warmup' | 'measure' | 'drain' = 'warmup';
  private t0 = 0;
  private windowStart = 0;
  private windowStartCount = 0;
  private windowEnd = 0;
  private windowEndCount = 0;
  private error: unknown;
  private finished = false;

  constructor(private readonly inFlight: number, private readonly warmupMs = WARMUP_MS,
              private readonly measureMs = MEASURE_MS) {
    if (!Number.isInteger(inFlight) || inFlight < 1) throw new RangeError(`in flight must be an integer >= 1, got ${inFlight}`);
  }

  start(issue: Issue, drained: () => void = () => {}): void {
    const complete = (err?: unknown): void => {
      if (err !== undefined && err !== null) this.error ??= err;
      const n = ++this.completions;
      const t = performance.now();
      if (n === 1) this.t0 = t;
      if (this.phase === 'warmup') {
        if (t - this.t0 >= this.warmupMs) {
          this.phase = 'measure';
          this.windowStart = t;
          this.windowStartCount = n;
        }
      } else if (this.phase === 'measure' && t - this.windowStart >= this.measureMs) {
        this.phase = 'drain';
        this.windowEnd = t;
        this.windowEndCount = n;
      }
      if (this.phase !== 'drain' && this.error === undefined) {
        issue(complete);
        return;
      }
      if (--this.active === 0) {
        this.finished = true;
        drained();
      }
    };
    for (let i = 0; i < this.inFlight; i++) {
      this.active++;
      issue(complete);
    }
  }

  result(): Window {
    if (this.error !== undefined) throw this.error;
    if (!this.finished) throw new Error(`${this.active} requests still in flight when the loop returned`);
    const completions = this.windowEndCount - this.windowStartCount;
    const ms = this.windowEnd - this.windowStart;
    if (completions <= 0) throw new Error('nothing completed in the measured window');
    return { completions, ms, perSecond: (completions / ms) * 1000, usPer: (ms * 1000) / completions };
  }

  /** For sides on Node's loop: resolves with the result once everything has drained. */
  static run(inFlight: number, issue: Issue): Promise<Window> {
    return new Promise((resolve, reject) => {
      const cl = new ClosedLoop(inFlight);
      cl.start(issue, () => {
        try {
          resolve(cl.result());
        } catch (err) {
          reject(err);
        }
      });
    });
  }
}

/** The in-flight count from a suite child's arguments. */
export function inFlightArg(args: readonly string[]): number {
  const n = Number(args[0]);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`in flight must be an integer >= 1, got ${String(args[0])}`);
  return n;
}

/**
 * The pool size for this child, as uvts resolves it: UVTS_THREADPOOL_SIZE, else
 * UV_THREADPOOL_SIZE, else 4. The runner sets both variables for every child, so Node's own
 * pool, piscina and uvts all get the same number.
 */
export function poolSizeFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  for (const name of ['UVTS_THREADPOOL_SIZE', 'UV_THREADPOOL_SIZE']) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 1024) {
      throw new RangeError(`${name} must be an integer from 1 to 1024, got ${JSON.stringify(raw)}`);
    }
    return n;
  }
  return 4;
}

/** Node's own pool size in this process (libuv reads UV_THREADPOOL_SIZE; 4 if unset). */
export function nodePoolSize(): number {
  return poolSizeFromEnv({ UV_THREADPOOL_SIZE: process.env['UV_THREADPOOL_SIZE'] });
}

export const STAT_FILE_SIZE = 1234;

/** Makes a directory under the OS's temp dir with one file of STAT_FILE_SIZE bytes in it. */
export function makeStatFile(): { file: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvts-bench-'));
  const file = path.join(dir, 'stat-me');
  fs.writeFileSync(file, Buffer.alloc(STAT_FILE_SIZE, 0x61));
  return { file, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Values every blocking-work child reports: the window, and the pool size it ran with. */
export function windowValues(w: Window, poolSize: number): Record<string, number> {
  return { perSecond: w.perSecond, usPer: w.usPer, completions: w.completions, ms: w.ms, poolSize };
}
