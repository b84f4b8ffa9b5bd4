import { Worker, type ResourceLimits } from 'node:worker_threads';

// Starting the pool's threads (the supervisor, and the pool threads it starts) under the Node
// options the program runs with: `node --max-old-space-size=4096 app.js` made the first fs call
// throw ERR_WORKER_INVALID_EXEC_ARGV, because a Worker inherits its parent's options and refuses
// the per-process and V8 ones.

/** The Node options a pool thread runs with (the supervisor passes its own to its threads). */
export interface ThreadOptions {
  execArgv: string[];
  resourceLimits: ResourceLimits;
}

/**
 * The process's own Node options, less those that name the parent's entry point (`-e`,
 * `--input-type`): a Worker inherits `node --input-type=module -e '…'` and then refuses to
 * load a file. Heap limits also become the Worker's resourceLimits (see spawnThread).
 */
export function threadOptions(): ThreadOptions {
  const execArgv: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-e' || arg === '--eval' || arg === '-p' || arg === '--print') i++;
    else if (!arg.startsWith('--input-type') && !arg.startsWith('--eval=') && !arg.startsWith('--print='))
      execArgv.push(arg);
  }
  return { execArgv, resourceLimits: heapLimits(execArgv) };
}

/**
 * A Worker for `url` with `options`, less any option the Worker refuses. Per-process and V8
 * flags (`--max-old-space-size`, `--expose-gc`, `--stack-size`, ...) make the constructor throw
 * ERR_WORKER_INVALID_EXEC_ARGV naming them, before any thread starts; each named one is
 * dropped and the Worker made again, whatever this Node version's list is. The Worker's
 * `workerData` carries the options that were taken, so it can start its own threads with them.
 */
export function spawnThread(url: URL, options: ThreadOptions, data: Record<string, unknown>): Worker {
  let execArgv = options.execArgv;
  for (;;) {
    try {
      const thread = { execArgv, resourceLimits: options.resourceLimits };
      return new Worker(url, { ...thread, workerData: { ...data, thread } });
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || execArgv.length === 0) throw err;
      const named = /flags: (.*)$/.exec((err as Error).message)?.[1] ?? '';
      const refused = new Set(named.split(', ').map((s) => s.trim()));
      const kept = execArgv.filter((arg) => !refused.has(arg));
      // Nothing named matched an option: start with none rather than fail for ever.
      execArgv = kept.length === execArgv.length ? [] : kept;
    }
  }
}

/** --max-old-space-size, --max-semi-space-size and --stack-size as a Worker's resourceLimits. */
function heapLimits(argv: readonly string[]): ResourceLimits {
  const limits: ResourceLimits = {};
  for (const arg of argv) {
    const m = /^--(max[-_]old[-_]space[-_]size|max[-_]semi[-_]space[-_]size|stack[-_]size)=(\d+)$/.exec(arg);
    if (m === null) continue;
    const n = Number(m[2]);
    const name = (m[1] as string).replace(/_/g, '-');
    if (name === 'max-old-space-size') limits.maxOldGenerationSizeMb = n;
    // V8's young generation is three semi-spaces' worth (two semi-spaces and the new large-object space).
    else if (name === 'max-semi-space-size') limits.maxYoungGenerationSizeMb = n * 3;
    // --stack-size is in KiB; a Worker's thread gets its stack in MiB.
    else limits.stackSizeMb = Math.max(1, Math.ceil(n / 1024));
  }
  return limits;
}
