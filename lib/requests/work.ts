import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';
import { serialize } from 'node:v8';
import { checkFunction, describe } from '../validate.js';
import { checkLoop } from '../loop.js';
import { request, type Request } from './request.js';

// queueWork (uv_queue_work): an export of a module runs on a pool thread (work-ops.ts).

export interface WorkTask {
  filename: string | URL;
  name?: string;
  args?: unknown[];
}

/** Runs export `name` (default: the default export) of module `filename` on a pool thread. */
export function queueWork(loop: unknown, task: WorkTask, cb: (err: Error | null, result?: unknown) => void): Request {
  checkLoop(loop);
  if (typeof task !== 'object' || task === null) throw new TypeError(`task must be an object, got ${describe(task)}`);
  const { filename, name, args } = task;
  let url: string;
  if (filename instanceof URL) url = filename.href;
  else if (typeof filename === 'string' && isAbsolute(filename)) url = pathToFileURL(filename).href;
  else if (typeof filename === 'string' && /^(file|data):/.test(filename)) url = filename;
  else throw new TypeError(`task.filename must be an absolute path or a file: URL, got ${describe(filename)}`);
  if (name !== undefined && typeof name !== 'string') throw new TypeError(`task.name must be a string, got ${describe(name)}`);
  if (args !== undefined && !Array.isArray(args)) throw new TypeError(`task.args must be an array, got ${describe(args)}`);
  checkFunction(cb, 'cb');
  let bytes: Buffer;
  try {
    bytes = serialize({ url, name: name ?? 'default', args: args ?? [] });
  } catch (err) {
    // What cannot cross threads (functions, symbols) is refused before anything starts.
    throw new TypeError(`task.args must survive v8 serialization: ${(err as Error).message}`, { cause: err });
  }
  return request(loop, 'work', cb, {}, bytes);
}
