import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkFunction, describe } from '../validate.js';
import { checkLoop } from '../loop.js';
import { A1, int } from '../threadpool/slot.js';
import { fastArgsSize, writeV8 } from './work-codec.js';
import { TAKEN, type SharedArgs } from './work-ops.js';
import { dropShared, listenForResults } from './work-share.js';
import { request, type Request } from './request.js';

// queueWork (uv_queue_work): an export of a module runs on a pool thread (work-ops.ts).

/** What {@link queueWork} runs: an exported function of a module, and its arguments. */
export interface WorkTask {
  /**
   * The module: an absolute path, or a file: (or data:) URL as a string or a URL object. Each
   * pool thread imports it once and keeps it.
   */
  filename: string | URL;
  /** The name of the exported function; the default export when absent. */
  name?: string;
  /**
   * The arguments, which must survive v8 serialization (no functions or symbols). Plain numbers,
   * strings and booleans travel without it. SharedArrayBuffers among them are shared with the
   * pool thread, not copied. None when absent.
   */
  args?: unknown[];
}

/**
 * What {@link queueWork} calls, on the loop's thread in the poll phase: `(null, result)` with
 * what the function returned (or what its promise resolved to), or `(err)` with what it threw
 * (or its promise rejected with). An Error thrown keeps its name, message, stack and cloneable
 * own properties; a system error (one with string `code` and `syscall`) arrives as a
 * {@link UVError}; a thrown value that is not an Error arrives as an Error that holds it in
 * `value`. A cancelled request gets a UVError ECANCELED.
 */
export type WorkCallback = (err: Error | null, result?: unknown) => void;

const NO_ARGS: readonly unknown[] = [];

/** The url of each filename string seen (a path, a url string, a URL's href): a path is made a file: url once. */
const urls = new Map<string, string>();
let lastFilename = '';
let lastUrl = '';

/** The module url `filename` names, checked the first time it is seen. */
function urlOf(filename: unknown): string {
  const key = filename instanceof URL ? filename.href : filename;
  if (key === lastFilename) return lastUrl;
  if (typeof key !== 'string')
    throw new TypeError(`task.filename must be an absolute path or a file: URL, got ${describe(filename)}`);
  let url = urls.get(key);
  if (url === undefined) {
    if (filename instanceof URL || /^(file|data):/.test(key)) url = key;
    else if (isAbsolute(key)) url = pathToFileURL(key).href;
    else throw new TypeError(`task.filename must be an absolute path or a file: URL, got ${describe(filename)}`);
    urls.set(key, url);
  }
  lastFilename = key;
  lastUrl = url;
  return url;
}

/**
 * Runs an exported function of a module on a pool thread (libuv's uv_queue_work, with the work
 * given as a module export, since a JavaScript function cannot cross threads). A promise it
 * returns is awaited on the pool thread.
 *
 * @remarks
 * User work is slow work: with getaddrinfo and getnameinfo, it holds at most half of the pool's
 * threads, so fs requests keep moving. The arguments and the result travel through shared
 * memory, not postMessage.
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param task - What to run (see {@link WorkTask}).
 * @param cb - Gets the result or the error (see {@link WorkCallback}). An export that is missing
 *   or not a function gives a TypeError there.
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `task` is not an object, `task.filename` is
 *   neither an absolute path nor a file: URL, `task.name` is not a string, `task.args` is not an
 *   array or holds a value v8 cannot serialize, or `cb` is not a function.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function queueWork(loop: unknown, task: WorkTask, cb: WorkCallback): Request {
  checkLoop(loop);
  if (typeof task !== 'object' || task === null) throw new TypeError(`task must be an object, got ${describe(task)}`);
  const { filename, name, args } = task;
  if (args !== undefined && !Array.isArray(args))
    throw new TypeError(`task.args must be an array, got ${describe(args)}`);
  if (name !== undefined && typeof name !== 'string')
    throw new TypeError(`task.name must be a string, got ${describe(name)}`);
  checkFunction(cb, 'cb');
  const url = urlOf(filename);
  const exported = name ?? 'default';
  listenForResults();
  const list = args ?? NO_ARGS;
  const size = fastArgsSize(list);
  if (size >= 0) return request(loop, 'work', cb, {}, url, exported, list, size, null, null);
  let encoded: ReturnType<typeof writeV8>;
  try {
    encoded = writeV8(list);
  } catch (err) {
    // What cannot cross threads (functions, symbols) is refused before anything starts.
    throw new TypeError(`task.args must survive v8 serialization: ${(err as Error).message}`, { cause: err });
  }
  if (encoded.shared.length === 0) return request(loop, 'work', cb, {}, url, exported, list, -1, encoded.bytes, null);
  // Its SharedArrayBuffers wait at the supervisor until a pool thread takes them: if none does
  // (cancelled, or its thread died first), the entry is dropped when the callback comes.
  let req: Request | undefined;
  const settle: WorkCallback = (err, result) => {
    if (err !== null && req !== undefined) dropUntaken(req);
    if (err === null) cb(null, result);
    else cb(err);
  };
  req = request(loop, 'work', settle, {}, url, exported, list, -1, encoded.bytes, encoded.shared);
  return req;
}

/** Drops the supervisor's entry for the request's argument buffers if no pool thread took them. */
function dropUntaken(req: Request): void {
  const shared = req.state as SharedArgs | undefined;
  if (shared === undefined) return;
  // A cancelled request has given its slot up (0), or kept it unsubmitted: either way untaken.
  if (req.slot !== 0 && int(req.slot, A1) === TAKEN) return;
  dropShared(shared.key, shared.route);
}
