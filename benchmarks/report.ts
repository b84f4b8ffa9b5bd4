// Shared pieces of the benchmarks: what a suite describes, one measurement in a fresh child
// process, the median, and the result table.

import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * What a child process measures: `uvts` and `peer` exist in every suite; a suite may name more
 * child sides for its extra contenders (another peer library, say).
 */
export type Side = string;

/**
 * A further contender in a suite, measured in the same run as uvts and peer: a child side run
 * with its own name, and possibly with more environment variables.
 * - role 'variant' (the default): another uvts (uvts under UVTS_FFI=ffi-rs, say); the table
 *   compares it to the peer, as it does uvts.
 * - role 'peer': another peer (fs.promises beside fs callbacks, say); the table compares uvts
 *   to it.
 */
export interface ExtraSide {
  /** Its name in the table and the per-run lines. */
  name: string;
  /** The child side it runs. */
  runs: Side;
  /** Added to the child's environment. */
  env?: Record<string, string>;
  /** What it stands for, printed under the suite's title as uvts and peer are. */
  description: string;
  role?: 'variant' | 'peer';
  /**
   * Why this side cannot run under Wine, where it cannot: under `--wine` the runner leaves it out
   * and prints this reason in the suite's notes.
   */
  notUnderWine?: string;
}

/** Why a side under UVTS_FFI=ffi-rs is left out under `--wine` (ExtraSide.notUnderWine). */
export const FFI_RS_NOT_UNDER_WINE =
  "ffi-rs does not load under Wine 8 without a stub bcryptprimitives.dll, so Wine's node_modules has koffi only";

/** Measured values of one run of one side, by measure key. */
export type Values = Record<string, number>;

/**
 * The keys of the CPU-per-request figures a blocking-work child reports (closed-loop.ts,
 * thread-cpu.ts), in µs over the measured window: the main thread's (the one driving the loop)
 * and all other threads' together (the pool and the helper threads). Absent where thread CPU
 * cannot be read (not Linux): the table shows n/a.
 */
export const CPU_LOOP_KEY = 'cpuLoopUs';
export const CPU_POOL_KEY = 'cpuPoolUs';

export interface Measure {
  key: string;
  label: string;
  unit: string;
  /** Which way is better for this measure, which decides the word beside the ratio. */
  better: 'higher' | 'lower';
  /** Digits after the decimal point when printed. */
  digits?: number;
  /**
   * Targets for uvts's ratio to a contender, by the contender's name: uvts/that >= n when
   * higher is better, uvts/that <= n when lower is better.
   */
  targets?: Record<string, number>;
}

/** One configuration of a suite: the arguments its child gets after the side, and what it reports. */
export interface Case {
  label: string;
  args: string[];
  /** Added to every side's environment for this case (a pool size, say). */
  env?: Record<string, string>;
  measures: Measure[];
}

export interface Suite {
  name: string;
  title: string;
  /** The compiled suite file, run as `node <file> <side> ...args` for one measurement. */
  file: string;
  /** What uvts and peer stand for in this suite. */
  sides: { uvts: string; peer: string };
  /** The peer's name in the table; 'peer' unless set. */
  peerName?: string;
  /** Contenders besides uvts and peer; most suites have none. */
  extraSides?: ExtraSide[];
  cases: Case[];
  /** Lines printed under the table (reference numbers, targets). */
  notes?: string[];
  /**
   * The children report CPU per request (CPU_LOOP_KEY, CPU_POOL_KEY): the table shows it beside
   * each side's median, n/a where a child could not read it.
   */
  cpuPerRequest?: boolean;
  /**
   * Why this suite cannot run under Wine (on Windows, mostly), where it cannot: under `--wine`
   * the runner refuses it with this reason.
   */
  notUnderWine?: string;
}

/** One contender as the runner measures it. */
export interface Contender {
  name: string;
  side: Side;
  env: Record<string, string>;
  description: string;
}

/**
 * The contenders of a suite in the order each run measures them: uvts, its variants, the peer,
 * the further peers.
 */
export function contenders(suite: Suite): Contender[] {
  const extra = (role: 'variant' | 'peer'): Contender[] =>
    (suite.extraSides ?? [])
      .filter((x) => (x.role ?? 'variant') === role)
      .map((x) => ({ name: x.name, side: x.runs, env: x.env ?? {}, description: x.description }));
  return [
    { name: 'uvts', side: 'uvts', env: {}, description: suite.sides.uvts },
    ...extra('variant'),
    { name: suite.peerName ?? 'peer', side: 'peer', env: {}, description: suite.sides.peer },
    ...extra('peer'),
  ];
}

/** The ratios a suite's table shows, as [numerator, denominator] contender names. */
export function comparisons(suite: Suite): [string, string][] {
  const peer = suite.peerName ?? 'peer';
  const extras = suite.extraSides ?? [];
  return [
    ['uvts', peer],
    ...extras.filter((x) => (x.role ?? 'variant') === 'peer').map((x): [string, string] => ['uvts', x.name]),
    ...extras.filter((x) => (x.role ?? 'variant') === 'variant').map((x): [string, string] => [x.name, peer]),
  ];
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Runs one measurement: `node <file> <side> ...args` in a new process, which prints one JSON line. */
export function measureInChild(
  file: string,
  side: Side,
  args: readonly string[],
  timeoutMs = 120_000,
  env: Record<string, string> = {},
): Promise<Values> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, side, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: timeoutMs,
      env: { ...process.env, ...env },
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const what = childCommand(file, side, args, env);
      if (code !== 0) {
        reject(new Error(`measurement failed (${signal ?? `exit code ${code}`}): ${what}`));
        return;
      }
      try {
        resolve(childValues(out, what));
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** The values a child printed: the last line of its stdout, parsed. `what` names it in the error. */
export function childValues(out: string, what: string): Values {
  const line = out.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Values;
  } catch {
    throw new Error(`measurement printed no JSON line: ${what}\n${out}`);
  }
}

/** How a failed measurement is named in its error: the added variables, side, file and arguments. */
export function childCommand(file: string, side: Side, args: readonly string[], env: Record<string, string>): string {
  const vars = Object.entries(env)
    .map(([k, v]) => `${k}=${v} `)
    .join('');
  return `${vars}${side} ${file} ${args.join(' ')}`.trim();
}

/** True when the module at `moduleUrl` is the process's entry point, i.e. it runs as a child. */
export function isEntry(moduleUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && pathToFileURL(entry).href === moduleUrl;
}

type Measurement = (args: string[]) => Values | Promise<Values>;

/**
 * The child side of a suite: reads the side from argv, runs the matching measurement once,
 * prints its values as one JSON line. Any failure exits non-zero.
 */
export function childMain(
  moduleUrl: string,
  run: { uvts: Measurement; peer: Measurement } & Record<Side, Measurement>,
): void {
  if (!isEntry(moduleUrl)) return;
  const [side, ...args] = process.argv.slice(2);
  const measure = side === undefined || !Object.hasOwn(run, side) ? undefined : run[side];
  if (measure === undefined) {
    process.stderr.write(`usage: node ${fileURLToPath(moduleUrl)} ${Object.keys(run).join('|')} [args...]\n`);
    process.exit(2);
  }
  Promise.resolve()
    .then(() => measure(args))
    .then((values) => {
      process.stdout.write(`${JSON.stringify(values)}\n`);
    })
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    });
}

/** Every run of one case: by contender name, the values of each run. */
export type CaseRuns = Record<string, Values[]>;

/** A suite and what its run measured, one CaseRuns per case. */
export interface SuiteRuns {
  suite: Suite;
  cases: CaseRuns[];
}

export function format(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return String(x);
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** The median of one measure over a contender's runs. */
export function medianOf(runs: readonly Values[] | undefined, key: string): number {
  return median((runs ?? []).map((v) => v[key] ?? NaN));
}

/** Medians of a contender's CPU per request, µs (NaN, null in the JSON, where not read). */
export interface CpuMedians {
  loopUs: number;
  poolUs: number;
}

function cpuMedians(runs: readonly Values[] | undefined): CpuMedians {
  return { loopUs: medianOf(runs, CPU_LOOP_KEY), poolUs: medianOf(runs, CPU_POOL_KEY) };
}

/** One ratio of the table, also kept in the JSON results. */
export interface Ratio {
  suite: string;
  case: string;
  measure: string;
  unit: string;
  better: 'higher' | 'lower';
  left: string;
  leftMedian: number;
  right: string;
  rightMedian: number;
  ratio: number;
  target?: number;
  met?: boolean;
  /** For suites with cpuPerRequest: each side's CPU per request over its window. */
  leftCpu?: CpuMedians;
  rightCpu?: CpuMedians;
}

export function ratios(results: readonly SuiteRuns[]): Ratio[] {
  const out: Ratio[] = [];
  for (const { suite, cases } of results) {
    suite.cases.forEach((c, i) => {
      const runs = cases[i] ?? {};
      for (const m of c.measures) {
        for (const [left, right] of comparisons(suite)) {
          const leftMedian = medianOf(runs[left], m.key);
          const rightMedian = medianOf(runs[right], m.key);
          const ratio = leftMedian / rightMedian;
          const r: Ratio = {
            suite: suite.name,
            case: c.label,
            measure: m.label,
            unit: m.unit,
            better: m.better,
            left,
            leftMedian,
            right,
            rightMedian,
            ratio,
          };
          if (suite.cpuPerRequest === true) {
            r.leftCpu = cpuMedians(runs[left]);
            r.rightCpu = cpuMedians(runs[right]);
          }
          const target = left === 'uvts' ? m.targets?.[right] : undefined;
          if (target !== undefined) {
            r.target = target;
            r.met = m.better === 'higher' ? ratio >= target : ratio <= target;
          }
          out.push(r);
        }
      }
    });
  }
  return out;
}

/** The CPU column's heading: both figures of CPU per request, loop thread + the rest. */
const CPU_HEADING = 'CPU/req loop+pool µs';

/** One side's CPU per request as a cell: `loop+pool` in µs, n/a where it was not read. */
function cpuCell(loopUs: number, poolUs: number): string {
  return Number.isFinite(loopUs) && Number.isFinite(poolUs) ? `${format(loopUs, 1)}+${format(poolUs, 1)}` : 'n/a';
}

/**
 * One table for every suite run: a row per ratio (a measure of a case, one contender against
 * another), with both medians, the ratio, which way is better and who is ahead, and the target
 * where the suite sets one. Where a suite reports CPU per request, each median has that beside
 * it (loop thread + all other threads, µs; medians of each over the runs). Cells that repeat the
 * row above are left blank.
 */
export function formatTable(results: readonly SuiteRuns[]): string {
  const digitsOf = new Map<string, Measure>();
  for (const { suite } of results) {
    for (const c of suite.cases) for (const m of c.measures) digitsOf.set(`${suite.name}\0${c.label}\0${m.label}`, m);
  }
  // The CPU columns only when some suite run reports CPU, so other tables read as before.
  const withCpu = results.some(({ suite }) => suite.cpuPerRequest === true);
  const header = withCpu
    ? ['suite', 'case', 'measure', 'side', 'median', CPU_HEADING, 'vs', 'median', CPU_HEADING, 'ratio', 'verdict']
    : ['suite', 'case', 'measure', 'side', 'median', 'vs', 'median', 'ratio', 'verdict'];
  const rows: string[][] = [];
  let prev: string[] = [];
  for (const r of ratios(results)) {
    const m = digitsOf.get(`${r.suite}\0${r.case}\0${r.measure}`);
    const unit = r.unit === '' ? '' : ` ${r.unit}`;
    const cell = (x: number): string => format(x, m?.digits) + unit;
    const cpu = (c: CpuMedians | undefined): string[] =>
      !withCpu ? [] : c === undefined ? [''] : [cpuCell(c.loopUs, c.poolUs)];
    const ahead =
      !Number.isFinite(r.ratio) || r.ratio === 1
        ? ''
        : (r.better === 'higher') === r.ratio > 1
          ? `, ${r.left} ahead`
          : `, ${r.right} ahead`;
    let verdict = `${r.better} is better${ahead}`;
    if (r.target !== undefined) {
      verdict += `; target ${r.better === 'higher' ? '>=' : '<='} ${r.target}x ${r.met === true ? 'met' : 'NOT met'}`;
    }
    const full = [
      r.suite,
      r.case,
      r.measure,
      r.left,
      cell(r.leftMedian),
      ...cpu(r.leftCpu),
      r.right,
      cell(r.rightMedian),
      ...cpu(r.rightCpu),
      Number.isFinite(r.ratio) ? `${r.ratio.toFixed(r.ratio < 0.1 ? 3 : 2)}x` : '-',
      verdict,
    ];
    // Blank the leading cells that repeat the row above (suite, case, measure, side, its median
    // and its CPU).
    const lead = withCpu ? 6 : 5;
    const shown = [...full];
    for (let i = 0; i < lead && full[i] === prev[i]; i++) shown[i] = '';
    if (shown[0] !== '' && rows.length > 0) rows.push([]);
    rows.push(shown);
    prev = full;
  }
  return table(header, rows, new Set(withCpu ? [4, 5, 7, 8, 9] : [4, 6, 7])).join('\n');
}

/**
 * The value of every run under the table, a line per contender per measure, and per contender
 * its CPU per request where the suite reports it.
 */
export function formatRuns(results: readonly SuiteRuns[]): string {
  const lines: string[] = [];
  for (const { suite, cases } of results) {
    suite.cases.forEach((c, i) => {
      const runs = cases[i] ?? {};
      for (const m of c.measures) {
        for (const k of contenders(suite)) {
          const vs = runs[k.name] ?? [];
          lines.push(
            `  ${suite.name}, ${m.label} (${c.label}), ${k.name}: ${vs.map((v) => format(v[m.key] ?? NaN, m.digits)).join('  ')}`,
          );
        }
      }
      if (suite.cpuPerRequest !== true) return;
      for (const k of contenders(suite)) {
        const vs = runs[k.name] ?? [];
        const cells = vs.map((v) => cpuCell(v[CPU_LOOP_KEY] ?? NaN, v[CPU_POOL_KEY] ?? NaN));
        lines.push(`  ${suite.name}, ${CPU_HEADING} (${c.label}), ${k.name}: ${cells.join('  ')}`);
      }
    });
  }
  return lines.join('\n');
}

function table(header: string[], rows: string[][], numeric: ReadonlySet<number>): string[] {
  const widths: number[] = [];
  for (const r of [header, ...rows])
    r.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  const line = (r: string[]): string =>
    '  ' +
    r
      .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const out = [
    line(header),
    '  ' +
      widths
        .map((w) => '-'.repeat(w))
        .join('  ')
        .trimEnd(),
  ];
  for (const r of rows) out.push(r.length === 0 ? '' : line(r));
  return out;
}
