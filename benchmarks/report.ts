// Shared pieces of the benchmarks: what a suite describes, one measurement in a fresh child
// process, the median, and the result table.

import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type Side = 'uvts' | 'peer';

/**
 * A further contender in a suite, measured in the same run as uvts and peer: one of the two
 * child sides run again with more environment variables (uvts under UVTS_FFI=ffi-rs, say).
 * The table shows its median beside the others and its ratio to the peer.
 */
export interface ExtraSide {
  /** Its name in the table's header and per-run lines. */
  name: string;
  /** The child side it runs. */
  runs: Side;
  /** Added to the child's environment. */
  env: Record<string, string>;
  /** What it stands for, printed under the suite's title as uvts and peer are. */
  description: string;
}

/** Measured values of one run of one side, by measure key. */
export type Values = Record<string, number>;

export interface Measure {
  key: string;
  label: string;
  unit: string;
  /** Which way is better for this measure, which decides the word beside the ratio. */
  better: 'higher' | 'lower';
  /** Digits after the decimal point when printed. */
  digits?: number;
}

/** One configuration of a suite: the arguments its child gets after the side, and what it reports. */
export interface Case {
  label: string;
  args: string[];
  measures: Measure[];
}

export interface Suite {
  name: string;
  title: string;
  /** The compiled suite file, run as `node <file> <side> ...args` for one measurement. */
  file: string;
  /** What uvts and peer stand for in this suite. */
  sides: Record<Side, string>;
  /** Contenders besides uvts and peer; most suites have none. */
  extraSides?: ExtraSide[];
  cases: Case[];
  /** Lines printed under the table (reference numbers, targets). */
  notes?: string[];
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Runs one measurement: `node <file> <side> ...args` in a new process, which prints one JSON line. */
export function measureInChild(file: string, side: Side, args: readonly string[], timeoutMs = 120_000,
                               env: Record<string, string> = {}): Promise<Values> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, side, ...args],
      { stdio: ['ignore', 'pipe', 'inherit'], timeout: timeoutMs, env: { ...process.env, ...env } });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => { out += chunk; });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const vars = Object.entries(env).map(([k, v]) => `${k}=${v} `).join('');
      const what = `${vars}${side} ${file} ${args.join(' ')}`.trim();
      if (code !== 0) {
        reject(new Error(`measurement failed (${signal ?? `exit code ${code}`}): ${what}`));
        return;
      }
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as Values);
      } catch {
        reject(new Error(`measurement printed no JSON line: ${what}\n${out}`));
      }
    });
  });
}

/** True when the module at `moduleUrl` is the process's entry point, i.e. it runs as a child. */
export function isEntry(moduleUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && pathToFileURL(entry).href === moduleUrl;
}

/**
 * The child side of a suite: reads the side from argv, runs the matching measurement once,
 * prints its values as one JSON line. Any failure exits non-zero.
 */
export function childMain(moduleUrl: string, run: Record<Side, (args: string[]) => Values | Promise<Values>>): void {
  if (!isEntry(moduleUrl)) return;
  const [side, ...args] = process.argv.slice(2);
  if (side !== 'uvts' && side !== 'peer') {
    process.stderr.write(`usage: node ${fileURLToPath(moduleUrl)} uvts|peer [args...]\n`);
    process.exit(2);
  }
  Promise.resolve()
    .then(() => run[side](args))
    .then((values) => { process.stdout.write(JSON.stringify(values) + '\n'); })
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      process.exitCode = 1;
    });
}

/** Per side, per measure: the value of each run; `extra[i]` belongs to the suite's extraSides[i]. */
export interface Runs {
  uvts: Values[];
  peer: Values[];
  extra: Values[][];
}

export function format(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return String(x);
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/**
 * The table of medians and ratios for every case of a suite, and the per-run values under it.
 * Extra sides add a median column and a ratio-to-peer column each; the verdict is uvts's.
 */
export function formatSuite(suite: Suite, results: readonly Runs[]): string {
  const extras = (suite.extraSides ?? []).map((s) => s.name);
  const rows: string[][] = [['suite', 'measure', 'uvts median', ...extras.map((n) => `${n} median`), 'peer median',
    'uvts/peer', ...extras.map((n) => `${n}/peer`), 'verdict']];
  const perRun: string[] = ['  per run:'];
  suite.cases.forEach((c, i) => {
    const runs = results[i] ?? { uvts: [], peer: [], extra: [] };
    const extraRuns = extras.map((_, j) => runs.extra[j] ?? []);
    for (const m of c.measures) {
      const label = `${m.label} (${c.label})`;
      const med = (vs: readonly Values[]): number => median(vs.map((v) => v[m.key] ?? NaN));
      const unit = m.unit === '' ? '' : ` ${m.unit}`;
      const cell = (x: number): string => format(x, m.digits) + unit;
      const ratioCell = (r: number): string => (Number.isFinite(r) ? `${r.toFixed(2)}x` : '-');
      const u = med(runs.uvts);
      const p = med(runs.peer);
      const e = extraRuns.map(med);
      const ratio = u / p;
      const ahead = !Number.isFinite(ratio) || ratio === 1 ? '' : (m.better === 'higher') === (ratio > 1) ? ': uvts ahead' : ': peer ahead';
      rows.push([suite.name, label, cell(u), ...e.map(cell), cell(p),
        ratioCell(ratio), ...e.map((x) => ratioCell(x / p)), `${m.better} is better${ahead}`]);
      const line = (side: string, vs: readonly Values[]): string =>
        `    ${label}, ${side}: ${vs.map((v) => format(v[m.key] ?? NaN, m.digits)).join('  ')}`;
      perRun.push(line('uvts', runs.uvts), ...extras.map((n, j) => line(n, extraRuns[j] ?? [])), line('peer', runs.peer));
    }
  });
  return [...table(rows, extras.length), ...perRun].join('\n');
}

function table(rows: string[][], extras: number): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length); });
  // Medians and ratios: every column between the measure's label and the verdict.
  const numeric = (i: number): boolean => i >= 2 && i <= 4 + 2 * extras;
  const line = (r: string[]): string =>
    '  ' + r.map((cell, i) => (numeric(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  const out = [line(rows[0] ?? []), '  ' + widths.map((w) => '-'.repeat(w)).join('  ').trimEnd()];
  for (const r of rows.slice(1)) out.push(line(r));
  return out;
}
