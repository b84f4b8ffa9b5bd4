// The driver shared by the blocking-work suites: N requests in flight, each completion issuing
// the next, for a fixed time after a warm-up. The warm-up counts from the first completion, so
// a pool's start (threads booting, often 100-300 ms here) does not eat into it. Completions are
// counted over the measured window only: it opens at the first completion after the warm-up and
// closes at the first one after MEASURE_MS more, so both ends are completions and no side is
// charged for its start-up or for the requests still in flight at the end.
// CPU per request: at the completion that opens the window and at the one that closes it, the
// CPU time of every thread of the process is read (thread-cpu.ts: /proc/self/task/<tid>/schedstat,
// Linux only); what the main thread (the one that drives the loop) used between the two, and
// what all other threads used together (the pool and the helper threads every side has), each
// divided by the window's completions, are the two CPU figures (µs per request). A side that is
// faster only because it moved work off the loop thread shows it in the second figure. At the
// opening completion the threads are read before the clock, at the closing one after it, so the
// reading itself stays out of the timed window.
// The pool size every side gets, and a temp file to stat, live here too.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sizeFromEnvironment } from '../../lib/threadpool/size.js';
import { checkInteger } from '../../lib/validate.js';
import { countArg } from '../args.js';
import { CPU_LOOP_KEY, CPU_POOL_KEY } from '../report.js';
import { cpuBetween, readThreadCpu, type ThreadCpu } from './thread-cpu.js';

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
  /** CPU per completion in the window; undefined where thread CPU cannot be read (not Linux). */
  cpu: CpuPerRequest | undefined;
}

/** CPU time per completed request over the window, µs (thread-cpu.ts). */
export interface CpuPerRequest {
  /** The main thread's, the one that drives the loop. */
  loopUs: number;
  /** Every other thread's together: the pool and the helper threads. */
  poolUs: number;
  /** Threads that started inside the window (counted for all their time). */
  threadsStarted: number;
  /** Threads that ended inside the window (counted through the process total). */
  threadsEnded: number;
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
  private cpuStart: ThreadCpu | undefined;
  private cpuEnd: ThreadCpu | undefined;
  private error: unknown;
  private finished = false;

  constructor(
    private readonly inFlight: number,
    private readonly warmupMs = WARMUP_MS,
    private readonly measureMs = MEASURE_MS,
  ) {
    checkInteger(inFlight, 'in flight', 1, Number.POSITIVE_INFINITY);
  }

  start(issue: Issue, drained: () => void = () => {}): void {
    // A first read of the threads' CPU, thrown away: the first costs 2-3 ms here (cold code and
    // file paths), later ones about 0.2 ms, and the ones that count are taken at the window's ends.
    readThreadCpu('start');
    const complete = (err?: unknown): void => {
      if (err !== undefined && err !== null) this.error ??= err;
      const n = ++this.completions;
      const t = performance.now();
      if (n === 1) this.t0 = t;
      if (this.phase === 'warmup') {
        if (t - this.t0 >= this.warmupMs) {
          this.phase = 'measure';
          this.cpuStart = readThreadCpu('start');
          this.windowStart = performance.now();
          this.windowStartCount = n;
        }
      } else if (this.phase === 'measure' && t - this.windowStart >= this.measureMs) {
        this.phase = 'drain';
        this.windowEnd = t;
        this.windowEndCount = n;
        this.cpuEnd = readThreadCpu('end');
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
    let cpu: CpuPerRequest | undefined;
    if (this.cpuStart !== undefined && this.cpuEnd !== undefined) {
      const use = cpuBetween(this.cpuStart, this.cpuEnd);
      cpu = {
        loopUs: use.loopNs / 1000 / completions,
        poolUs: use.poolNs / 1000 / completions,
        threadsStarted: use.threadsStarted,
        threadsEnded: use.threadsEnded,
      };
    }
    return { completions, ms, perSecond: (completions / ms) * 1000, usPer: (ms * 1000) / completions, cpu };
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
  return countArg(args, 'in flight');
}

/** Node's own pool size in this process (libuv reads UV_THREADPOOL_SIZE; 4 if unset). */
export function nodePoolSize(): number {
  return sizeFromEnvironment({ UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE });
}

export const STAT_FILE_SIZE = 1234;

/** Makes a directory under the OS's temp dir with one file of STAT_FILE_SIZE bytes in it. */
export function makeStatFile(): { file: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvts-bench-'));
  const file = path.join(dir, 'stat-me');
  fs.writeFileSync(file, Buffer.alloc(STAT_FILE_SIZE, 0x61));
  return { file, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Values every blocking-work child reports: the window, the pool size it ran with, and the CPU
 * per request (CPU_LOOP_KEY, CPU_POOL_KEY in µs; threadsStarted/threadsEnded in the window),
 * left out where thread CPU cannot be read, which the table shows as n/a.
 */
export function windowValues(w: Window, poolSize: number): Record<string, number> {
  const values: Record<string, number> = {
    perSecond: w.perSecond,
    usPer: w.usPer,
    completions: w.completions,
    ms: w.ms,
    poolSize,
  };
  if (w.cpu !== undefined) {
    values[CPU_LOOP_KEY] = w.cpu.loopUs;
    values[CPU_POOL_KEY] = w.cpu.poolUs;
    values.threadsStarted = w.cpu.threadsStarted;
    values.threadsEnded = w.cpu.threadsEnded;
  }
  return values;
}
