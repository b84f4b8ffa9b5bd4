// The benchmarks under Wine (`npm run bench -- --wine <suite>...`): each measurement's child is
// the Windows node.exe in Wine, on this Linux machine. The figures are Wine's (Windows node.exe,
// koffi's win32 build and uvts's Windows backend, through Wine's emulation of the Windows API on
// Linux), never a Windows machine's speed: the report says "under Wine" in its header and on
// every case.
//
// scripts/wine-env.sh sets Wine up as the Wine test suite does (scripts/test-wine.sh), with a
// prefix and a win32 node_modules (koffi, piscina) of the benchmarks' own. The compiled tree is
// staged in a temp dir inside that node_modules' folder (node.exe finds its packages by walking
// up), and each child runs as `wine64 node.exe dist/benchmarks/suites/<suite>.js <side> ...`
// from there. node.exe dies with `open EBADF` when its stdout or stderr is a Linux pipe, so both
// go to files, read back when the child has exited; its exit code comes through Wine.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { childCommand, childValues, type Side, type Suite, type Values } from './report.js';
import { KQUEUE_UNSET_NOTE } from './suites/kqueue-side.js';

/** What scripts/wine-env.sh set up. */
export interface WineSetup {
  wine: string;
  /** `wine64 --version` without its `wine-` prefix: "8.0 (Debian 8.0~repack-4)", say. */
  wineVersion: string;
  /** node.exe's version, `v20.20.2` say. */
  node: string;
  nodeExe: string;
  /** The win32 node_modules' folder. */
  modules: string;
  prefix: string;
}

/** The repo's root and its compiled tree, from this file's place in dist/benchmarks/. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = path.join(ROOT, 'dist');

/** Runs scripts/wine-env.sh (its progress shows on stderr); throws with its reason if it fails. */
export function setUpWine(): WineSetup {
  const r = spawnSync('bash', [path.join(ROOT, 'scripts/wine-env.sh'), 'bench'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (r.error !== undefined) throw new Error(`cannot run scripts/wine-env.sh: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error('the benchmarks cannot run under Wine: scripts/wine-env.sh failed (its reason is above)');
  const got = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) got.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const key = (k: string): string => {
    const v = got.get(k);
    if (v === undefined || v === '') throw new Error(`scripts/wine-env.sh printed no ${k}`);
    return v;
  };
  return {
    wine: key('wine'),
    wineVersion: key('wineVersion'),
    node: key('node'),
    nodeExe: key('nodeExe'),
    modules: key('modules'),
    prefix: key('prefix'),
  };
}

/** Appended to every case's label under Wine, so each row of the table says so. */
const UNDER_WINE = ', under Wine';

/**
 * The suite as it runs under Wine: the sides that cannot run on Windows left out, each with a
 * note saying why; no CPU-per-request columns (they read Linux's /proc/self/task/<tid>/schedstat
 * by the process's pid, which a Windows process in Wine has not: its pid is Wine's own); every
 * case labelled as under Wine.
 */
export function underWine(suite: Suite): Suite {
  const notes: string[] = [];
  for (const x of suite.extraSides ?? []) {
    if (x.notUnderWine !== undefined) notes.push(`${x.name}: not run under Wine: ${x.notUnderWine}`);
  }
  for (const note of suite.notes ?? []) {
    // The native run's reason for a missing kqueue side gives way to the Windows one.
    notes.push(note === KQUEUE_UNSET_NOTE ? 'uvts-kqueue: not run under Wine: Windows has no kqueue' : note);
  }
  if (suite.cpuPerRequest === true) {
    notes.push(
      'CPU/req columns: not under Wine (they read Linux /proc/self/task/<tid>/schedstat by pid, which a Windows process has not)',
    );
  }
  return {
    ...suite,
    title: `${suite.title}, under Wine`,
    extraSides: (suite.extraSides ?? []).filter((x) => x.notUnderWine === undefined),
    cases: suite.cases.map((c) => ({ ...c, label: `${c.label}${UNDER_WINE}` })),
    notes,
    cpuPerRequest: false,
  };
}

/** The compiled tree staged for node.exe, and how to run a measurement from it. */
export class WineRunner {
  /** The temp dir inside the win32 node_modules' folder holding package.json and dist/. */
  private readonly dir: string;
  private count = 0;

  constructor(private readonly setup: WineSetup) {
    this.dir = fs.mkdtempSync(path.join(setup.modules, 'run.'));
    // package.json for "type": "module"; dist/ as the repo has it (dist/spec is not needed).
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(this.dir, 'package.json'));
    for (const sub of ['lib', 'ffi', 'workers', 'benchmarks']) {
      fs.cpSync(path.join(DIST, sub), path.join(this.dir, 'dist', sub), { recursive: true });
    }
  }

  /**
   * One measurement: `wine64 node.exe <file> <side> ...args` from the staged tree, stdout and
   * stderr to files. Resolves with the JSON line the child printed; the child's stderr is copied
   * to this process's.
   */
  measure(
    file: string,
    side: Side,
    args: readonly string[],
    timeoutMs = 300_000,
    env: Record<string, string> = {},
  ): Promise<Values> {
    const inDist = path.relative(DIST, file);
    if (inDist.startsWith('..') || path.isAbsolute(inDist))
      return Promise.reject(new Error(`${file} is not in ${DIST}`));
    const script = `dist/${inDist.split(path.sep).join('/')}`;
    const n = ++this.count;
    const outFile = path.join(this.dir, `out-${n}.txt`);
    const errFile = path.join(this.dir, `err-${n}.txt`);
    const what = `${childCommand(file, side, args, env)} (node.exe under Wine)`;
    return new Promise<Values>((resolve, reject) => {
      const out = fs.openSync(outFile, 'w');
      const err = fs.openSync(errFile, 'w');
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn(this.setup.wine, [this.setup.nodeExe, script, side, ...args], {
          cwd: this.dir,
          stdio: ['ignore', out, err],
          timeout: timeoutMs,
          killSignal: 'SIGKILL',
          env: {
            ...process.env,
            ...env,
            WINEDEBUG: '-all',
            WINEPREFIX: this.setup.prefix,
            WINEDLLOVERRIDES: 'mscoree,mshtml=',
          },
        });
      } finally {
        // The child has its own copies.
        fs.closeSync(out);
        fs.closeSync(err);
      }
      child.on('error', reject);
      child.on('close', (code, signal) => {
        const stdout = fs.readFileSync(outFile, 'utf8');
        const stderr = fs.readFileSync(errFile, 'utf8');
        fs.rmSync(outFile, { force: true });
        fs.rmSync(errFile, { force: true });
        if (stderr !== '') process.stderr.write(stderr.endsWith('\n') ? stderr : `${stderr}\n`);
        if (code !== 0) {
          const why = signal === 'SIGKILL' ? `killed after ${timeoutMs / 1000} s` : (signal ?? `exit code ${code}`);
          reject(new Error(`measurement failed (${why}): ${what}`));
          return;
        }
        try {
          resolve(childValues(stdout, what));
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  /** Removes the staged tree. */
  dispose(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
