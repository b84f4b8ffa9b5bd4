import { deserialize, serialize } from 'node:v8';
import { heap } from '../threadpool/heap.js';
import { op } from '../threadpool/op.js';
import { dataBytes, outBytes, putBytes, reserveOut } from '../threadpool/slot-data.js';
import type { Slot } from '../threadpool/slot.js';

// queueWork (uv_queue_work): an export of a module runs on a pool thread. DATA holds the
// v8-serialized { url, name, args }; OUT the v8-serialized result. The module is imported once
// per pool thread and kept; a promise the export returns is awaited.

interface Task {
  url: string;
  name: string;
  args: unknown[];
}

const modules = new Map<string, Record<string, unknown>>();

function call(slot: Slot, mod: Record<string, unknown>, task: Task): void | Promise<void> {
  const fn = mod[task.name];
  if (typeof fn !== 'function') {
    throw new TypeError(`export '${task.name}' of ${task.url} is not a function (it is ${fn === undefined ? 'missing' : typeof fn})`);
  }
  const result: unknown = fn(...task.args);
  if (result instanceof Promise) return result.then((value: unknown) => writeResult(slot, value));
  writeResult(slot, result);
}

function writeResult(slot: Slot, value: unknown): void {
  const bytes = serialize(value);
  const at = reserveOut(slot, bytes.length);
  if (at === 0) throw Object.assign(new Error('ENOMEM: the shared heap is full'), { code: 'ENOMEM', syscall: 'uv_queue_work' });
  heap.u8.set(bytes, at);
}

export const WORK_OPS = {
  work: op({
    type: 'work', slow: true, brief: false, syscalls: ['uv_queue_work'],
    encode(slot, _req, task: Uint8Array) {
      putBytes(slot, task);
    },
    run(slot) {
      const task = deserialize(dataBytes(slot)) as Task;
      const mod = modules.get(task.url);
      if (mod !== undefined) return call(slot, mod, task);
      return import(task.url).then((loaded: Record<string, unknown>) => {
        modules.set(task.url, loaded);
        return call(slot, loaded, task);
      });
    },
    decode: (slot) => deserialize(outBytes(slot)) as unknown,
  }),
};
