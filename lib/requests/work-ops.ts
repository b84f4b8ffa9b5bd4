import { AGAIN, op } from '../threadpool/op.js';
import { alloc, heap, heapReaches } from '../shared-heap.js';
import { HeapFull, reserveData, reserveOut } from '../threadpool/slot-data.js';
import {
  A0,
  A1,
  A2,
  DATA,
  DATA_LEN,
  OUT,
  OUT_LEN,
  PORT,
  PORT_BYTES,
  PORT_THREAD,
  RESULT,
  int,
  setInt,
  type Slot,
} from '../threadpool/slot.js';
import { fastSize, readFast, readFastArgs, readV8, writeFast, writeFastArgs, writeV8 } from './work-codec.js';
import { UNSENT, fetchShared, resultShared, sendResultShared, sendShared, sharedKey } from './work-share.js';

// queueWork (uv_queue_work): an export of a module runs on a pool thread. The module is
// imported once per pool thread and kept; a promise the export returns is awaited. Arguments
// and result travel in the slot, FAST when they are plain values and V8 otherwise
// (work-codec.ts); SharedArrayBuffers among them are shared, by message (work-share.ts).
//
//   slot word | name   | meaning
//   ----------+--------+-----------------------------------------------------------------------
//   A0        | EXPORT | the export's id: the offset of a heap block naming its module and name
//             |        | (below), made once per thread for each (module, name) and never freed
//   A1        | ARGS   | how DATA holds the argument list: FAST 0; V8 1; SHARED 2 (V8, and its
//             |        | SharedArrayBuffers wait at the supervisor); UNSENT 3 (V8, and they could
//             |        | not be sent yet: the pool thread sends the request back); TAKEN 4 (was
//             |        | SHARED: the pool thread has them)
//   A2        | SERIAL | the request's number on its loop's thread: keys the messages that carry
//             |        | its SharedArrayBuffers
//   RESULT    | OUTPUT | how OUT holds the result (pool side): FAST 0; V8 1; SHARED 2 (V8, and its
//             |        | SharedArrayBuffers were sent to the loop's thread); RESEND 3 (nothing
//             |        | ran: send the arguments' buffers now and submit again)
//
//   An export's block: Int32 url length, Int32 name length (UTF-16 units), then both in UTF-16.
const EXPORT = A0;
const ARGS = A1;
const SERIAL = A2;
const OUTPUT = RESULT;

export const FAST = 0;
export const V8 = 1;
export const SHARED = 2;
export const UNSENT_ARGS = 3;
export const TAKEN = 4;
const RESEND = 3;

/** What a request with SharedArrayBuffers among its arguments keeps in `req.state`. */
export interface SharedArgs {
  readonly key: string;
  readonly shared: SharedArrayBuffer[];
  /** How they were sent (work-share.ts): a drop follows the same way. */
  route: number;
}

// The loop's side.

/** Export ids made on this thread, by url and name. */
const exportIds = new Map<string, Map<string, number>>();

/**
 * The id of export `name` of module `url`: a heap block naming them, which pool threads read
 * once and then know the export by. Made once per thread and pair, and never freed, so an id
 * means one export for as long as the process lives; a program that makes ever new module urls
 * (data: urls) leaks a block each, as the pool threads' module caches (and Node's) keep each.
 */
export function exportId(url: string, name: string): number {
  if (url === lastUrl && name === lastName) return lastId;
  let names = exportIds.get(url);
  if (names === undefined) exportIds.set(url, (names = new Map()));
  let id = names.get(name);
  if (id === undefined) {
    const bytes = 8 + (url.length + name.length) * 2;
    id = alloc(bytes);
    if (id === 0) throw new HeapFull();
    heapReaches(id + bytes);
    heap.i32[id >> 2] = url.length;
    heap.i32[(id >> 2) + 1] = name.length;
    heap.u8.write(url, id + 8, url.length * 2, 'utf16le');
    heap.u8.write(name, id + 8 + url.length * 2, name.length * 2, 'utf16le');
    names.set(name, id);
  }
  lastUrl = url;
  lastName = name;
  lastId = id;
  return id;
}

/** The last export asked for, whose id is then found without a lookup. */
let lastUrl = '';
let lastName = '';
let lastId = 0;

/** Numbers this thread's requests, for their messages' keys. */
let serial = 0;

// The pool thread's side.

interface Export {
  readonly url: string;
  readonly name: string;
  /** The module's namespace once imported on this thread. */
  module: Record<string, unknown> | undefined;
}

/** The exports this pool thread has been asked for, by id. */
const exportsById = new Map<number, Export>();
/** The modules it has imported, by url (two names of one module share it). */
const modules = new Map<string, Record<string, unknown>>();

function exportAt(id: number): Export {
  let target = exportsById.get(id);
  if (target !== undefined) return target;
  heapReaches(id + 8);
  const urlLength = heap.i32[id >> 2] as number;
  const nameLength = heap.i32[(id >> 2) + 1] as number;
  const end = id + 8 + (urlLength + nameLength) * 2;
  heapReaches(end);
  const url = heap.u8.toString('utf16le', id + 8, id + 8 + urlLength * 2);
  target = { url, name: heap.u8.toString('utf16le', id + 8 + urlLength * 2, end), module: modules.get(url) };
  exportsById.set(id, target);
  return target;
}

function call(slot: Slot, target: Export, args: unknown[]): void | Promise<void> {
  const fn = (target.module as Record<string, unknown>)[target.name];
  if (typeof fn !== 'function') {
    throw new TypeError(
      `export '${target.name}' of ${target.url} is not a function (it is ${fn === undefined ? 'missing' : typeof fn})`,
    );
  }
  const result: unknown = Reflect.apply(fn, undefined, args);
  if (result instanceof Promise) return result.then((value: unknown) => writeResult(slot, value));
  writeResult(slot, result);
}

function writeResult(slot: Slot, value: unknown): void {
  const size = fastSize(value);
  if (size >= 0) {
    writeFast(value, reserve(slot, size));
    setInt(slot, OUTPUT, FAST);
    return;
  }
  const { bytes, shared } = writeV8(value);
  heap.u8.set(bytes, reserve(slot, bytes.length));
  if (shared.length === 0) {
    setInt(slot, OUTPUT, V8);
    return;
  }
  // There before the completion, which the loop reads them at.
  const port = int(slot, PORT);
  heapReaches(port + PORT_BYTES);
  sendResultShared(heap.i32[(port >> 2) + PORT_THREAD] as number, int(slot, SERIAL), shared);
  setInt(slot, OUTPUT, SHARED);
}

function reserve(slot: Slot, size: number): number {
  const at = reserveOut(slot, size);
  if (at === 0)
    throw Object.assign(new Error('ENOMEM: the shared heap is full'), { code: 'ENOMEM', syscall: 'uv_queue_work' });
  return at;
}

/** The argument list in the slot's DATA; its SharedArrayBuffers fetched from the supervisor. */
function readArgs(slot: Slot, how: number): unknown[] {
  const at = int(slot, DATA);
  heapReaches(at + int(slot, DATA_LEN));
  if (how === FAST) return readFastArgs(at);
  let shared: SharedArrayBuffer[] = [];
  if (how === SHARED) {
    const port = int(slot, PORT);
    heapReaches(port + PORT_BYTES);
    shared = fetchShared(sharedKey(int(slot, SERIAL), heap.i32[(port >> 2) + PORT_THREAD] as number));
    // Its loop need not drop the supervisor's entry: there is none now.
    setInt(slot, ARGS, TAKEN);
  }
  return readV8(heap.u8.subarray(at, at + int(slot, DATA_LEN)), shared) as unknown[];
}

export const WORK_OPS = {
  work: op({
    type: 'work',
    slow: true,
    brief: false,
    syscalls: ['uv_queue_work'],
    /**
     * `size` >= 0: `args` go FAST in that many bytes; else `bytes` holds them V8, naming
     * `shared` (null if none).
     */
    encode(
      slot,
      req,
      url: string,
      name: string,
      args: readonly unknown[],
      size: number,
      bytes: Uint8Array | null,
      shared: SharedArrayBuffer[] | null,
    ) {
      setInt(slot, EXPORT, exportId(url, name));
      serial = (serial + 1) | 0;
      setInt(slot, SERIAL, serial);
      if (size >= 0) {
        writeFastArgs(args, reserveData(slot, size));
        setInt(slot, ARGS, FAST);
        return;
      }
      const v8 = bytes as Uint8Array;
      heap.u8.set(v8, reserveData(slot, v8.length));
      if (shared === null) {
        setInt(slot, ARGS, V8);
        return;
      }
      // Last: nothing after this may fail, or the supervisor would keep an entry nobody drops.
      const key = sharedKey(serial);
      const route = sendShared(key, shared);
      req.state = { key, shared, route } satisfies SharedArgs;
      setInt(slot, ARGS, route === UNSENT ? UNSENT_ARGS : SHARED);
    },
    run(slot) {
      const how = int(slot, ARGS);
      if (how === UNSENT_ARGS) {
        setInt(slot, OUTPUT, RESEND);
        return;
      }
      // Arguments first: their buffers leave the supervisor whatever happens next.
      const args = readArgs(slot, how);
      const target = exportAt(int(slot, EXPORT));
      if (target.module !== undefined) return call(slot, target, args);
      return import(target.url).then((loaded: Record<string, unknown>) => {
        modules.set(target.url, loaded);
        target.module = loaded;
        return call(slot, target, args);
      });
    },
    decode(slot, req) {
      const how = int(slot, OUTPUT);
      const at = int(slot, OUT);
      heapReaches(at + int(slot, OUT_LEN));
      if (how === FAST) return readFast(at);
      if (how === RESEND) {
        // A pool thread runs: the supervisor listens now.
        const args = req.state as SharedArgs;
        args.route = sendShared(args.key, args.shared);
        setInt(slot, ARGS, args.route === UNSENT ? UNSENT_ARGS : SHARED);
        return AGAIN;
      }
      const shared = how === SHARED ? resultShared(int(slot, SERIAL)) : [];
      return readV8(heap.u8.subarray(at, at + int(slot, OUT_LEN)), shared);
    },
  }),
};
