// CPU time of this process's threads, for the CPU-per-request figures of the blocking-work suites
// (closed-loop.ts takes a snapshot at each end of the measured window). Linux only: each thread's
// CPU time is the first field of /proc/self/task/<tid>/schedstat, the scheduler's
// sum_exec_runtime in ns (user and system time together, as the scheduler accounts it, not
// sampled at ticks). Where /proc/self/task or the schedstat files are missing (another OS, a
// kernel without CONFIG_SCHED_INFO, a /proc of another pid namespace), readThreadCpu() returns
// undefined and the figures show as n/a.
//
// The figures split the process in two: the thread that drives the loop (the main thread of the
// benchmark child, whose tid is the pid) and every other thread together: the pool (uvts's pool
// threads, libuv's pool in Node, piscina's workers) and the helpers every side has anyway (V8's
// platform workers for GC and compilation, libuv's signal and I/O threads, ...), so the second
// figure stays comparable between sides.
//
// Precision: a thread that is asleep has its sum_exec_runtime exact; one that is running on
// another CPU when read shows its time up to its last scheduler update (at most a tick, 1-10 ms).
// Over a 1.5 s window that is well under 1% per busy thread. Checked here against the process
// total (getrusage) over fs.stat at 64 in flight for 1.5 s: the threads' sum and the total agreed
// within 0.6 ms of ~2000 ms. A reading of the ~10-20 threads a child has costs the main thread
// about 0.2 ms once warm (0.19 ms for 7 threads), 2-3 ms the first time.

import fs from 'node:fs';

const TASKS = '/proc/self/task';

/** One reading: CPU time by thread, and the whole process's. */
export interface ThreadCpu {
  /** CPU time of the main thread, ns. */
  main: number;
  /** CPU time of every other thread alive when read, ns, by tid. */
  others: Map<number, number>;
  /**
   * The process's CPU time (process.cpuUsage(): getrusage(RUSAGE_SELF), user + system), µs. It
   * includes threads that have exited, which /proc/self/task no longer lists: it is how the
   * time of a thread that ends inside the window is recovered (cpuBetween).
   */
  processUs: number;
}

/** The CPU time of one thread in ns, or undefined when it has gone (or cannot be read). */
function schedstat(tid: number | string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`${TASKS}/${tid}/schedstat`, 'latin1');
  } catch {
    return undefined;
  }
  const ns = Number(text.slice(0, text.indexOf(' ')));
  return Number.isFinite(ns) && ns >= 0 ? ns : undefined;
}

function processUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/**
 * Reads every thread's CPU time, or undefined where that cannot be done (not Linux, no
 * schedstat, the main thread not listed). `at` orders the reads so that the main thread's own
 * work of reading falls outside the window: at its start the main thread is read last, at its
 * end first.
 */
export function readThreadCpu(at: 'start' | 'end'): ThreadCpu | undefined {
  let tids: string[];
  try {
    tids = fs.readdirSync(TASKS);
  } catch {
    return undefined;
  }
  const mainTid = process.pid;
  let main: number | undefined;
  let total = 0;
  if (at === 'end') {
    main = schedstat(mainTid);
    total = processUs();
  }
  const others = new Map<number, number>();
  for (const name of tids) {
    const tid = Number(name);
    if (tid === mainTid || !Number.isInteger(tid)) continue;
    const ns = schedstat(name);
    // A thread that exited between the listing and the read has no time to give: skipped.
    if (ns !== undefined) others.set(tid, ns);
  }
  if (at === 'start') {
    total = processUs();
    main = schedstat(mainTid);
  }
  return main === undefined ? undefined : { main, others, processUs: total };
}

/** CPU used between two readings. */
export interface CpuUse {
  /** By the main thread, the loop's, ns. */
  loopNs: number;
  /** By every other thread together, ns, including threads that started or ended in between. */
  poolNs: number;
  /** Threads listed at the end but not at the start: counted from 0, all their time is inside. */
  threadsStarted: number;
  /** Threads listed at the start but not at the end: their time is recovered from processUs. */
  threadsEnded: number;
}

/**
 * The CPU used between `a` and `b`. A thread listed only in `b` started in between, so all its
 * time counts. A thread listed only in `a` ended in between: /proc no longer has its time, but
 * the process total (getrusage) does, so when any thread ended, what the process total grew by
 * beyond the listed threads' growth is added to the pool's figure as theirs (never less than 0;
 * it also holds the few µs the other threads ran between the reads). A tid whose time went down
 * was reused by a new thread: the old one ended, the new one started.
 */
export function cpuBetween(a: ThreadCpu, b: ThreadCpu): CpuUse {
  const loopNs = Math.max(0, b.main - a.main);
  let poolNs = 0;
  let threadsStarted = 0;
  let threadsEnded = 0;
  for (const [tid, end] of b.others) {
    const start = a.others.get(tid);
    if (start === undefined || end < start) {
      threadsStarted++;
      if (start !== undefined) threadsEnded++;
      poolNs += end;
    } else {
      poolNs += end - start;
    }
  }
  for (const tid of a.others.keys()) if (!b.others.has(tid)) threadsEnded++;
  if (threadsEnded > 0) {
    const processNs = (b.processUs - a.processUs) * 1000;
    poolNs += Math.max(0, processNs - loopNs - poolNs);
  }
  return { loopNs, poolNs, threadsStarted, threadsEnded };
}
