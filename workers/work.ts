import { deserialize } from 'node:v8';
import { dataBytes, writeOutValue } from './slot-io.js';

// queueWork on a pool thread: the module is imported once per thread and kept; the export
// runs with the request's arguments, and a promise it returns is awaited.

const modules = new Map<string, Record<string, unknown>>();

interface Task {
  url: string;
  name: string;
  args: unknown[];
}

export function runWork(slot: number): void | Promise<void> {
  const task = deserialize(dataBytes(slot)) as Task;
  const mod = modules.get(task.url);
  if (mod !== undefined) return call(slot, mod, task);
  return import(task.url).then((loaded: Record<string, unknown>) => {
    modules.set(task.url, loaded);
    return call(slot, loaded, task);
  });
}

function call(slot: number, mod: Record<string, unknown>, task: Task): void | Promise<void> {
  const fn = mod[task.name];
  if (typeof fn !== 'function') {
    throw new TypeError(`export '${task.name}' of ${task.url} is not a function (it is ${fn === undefined ? 'missing' : typeof fn})`);
  }
  const result: unknown = fn(...task.args);
  if (result instanceof Promise) return result.then((value: unknown) => writeOutValue(slot, value));
  writeOutValue(slot, result);
}
