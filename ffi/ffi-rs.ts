// The ffi-rs driver. Pointers are passed in place, with no copying: ffi-rs takes a U8Array
// argument as a Node Buffer and hands C the address Node reports for it, which for any typed
// array view (Int32Array too, a subarray, or one over a SharedArrayBuffer) is the view's first
// byte. C therefore reads and writes the caller's own bytes, as with koffi.
//
// A `ptr` (a number, 0 for NULL) is passed as ffi-rs's I64, in the register a pointer would
// use (user-space addresses are below 2^48).
//
// ffi-rs has no bound-function object: every call names the library and function and
// describes the types again, and ffi-rs parses that description each time. So each function
// keeps one call description, built here and reused, and only its argument list changes.
import { createRequire } from 'node:module';
import type * as FfiRsModule from 'ffi-rs';
import { enterNative, leaveNative } from './exit-guard.js';
import {
  FUNCTIONS,
  LIBRARY_NAMES,
  VARIADIC_ABI,
  available,
  missing,
  type Bound,
  type Libc,
  type ParamKind,
  type ReturnKind,
  type Table,
} from './libc.js';

type FfiRs = typeof FfiRsModule;
type Call = FfiRsModule.FFIParams<FfiRsModule.FieldType, true>;
type Memory = Uint8Array | Int32Array;
type Arg = number | Memory;

// ffi-rs keeps the libraries it opens in one process-wide table under a name the caller
// chooses; this one is uvts's own, so it cannot clash with another user of ffi-rs.
const LIBRARY = 'uvts:libc';

/**
 * Loads ffi-rs's addon on this thread, binding nothing. A process whose addon was first loaded
 * by a worker thread dies with SIGSEGV at exit (5 exits of 5, Node 20.20, ffi-rs 1.3: a worker
 * that only required it was enough), and one whose main thread loaded it first exits cleanly; so
 * the thread that made the shared heap, the ancestor of every thread using uvts, loads it first.
 * A missing package is not an error here: binding reports it, naming the driver.
 */
export function preloadFfiRs(): void {
  try {
    createRequire(import.meta.url)('ffi-rs');
  } catch {
    // Reported when the driver is bound.
  }
}

/** Binds libc's table with ffi-rs. Throws if ffi-rs or libc cannot load. */
export function bindFfiRs(): Libc {
  const ffi = createRequire(import.meta.url)('ffi-rs') as FfiRs;
  const bound = bindFfiRsTable(FUNCTIONS, LIBRARY_NAMES, LIBRARY);
  const { DataType } = ffi;
  // memcpy(view, view, 0) returns its first argument: the address ffi-rs passed for the view.
  const identity: Call = {
    library: LIBRARY,
    funcName: 'memcpy',
    retType: DataType.I64,
    paramsType: [memoryType(ffi), memoryType(ffi), DataType.U64],
    paramsValue: [],
    errno: true,
    freeResultMemory: false,
  };
  const addressOf = (view: ArrayBufferView): number => {
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    identity.paramsValue = [bytes, bytes, 0];
    if (!enterNative()) throw new Error('the process is exiting; memcpy was not called');
    try {
      return ffi.load(identity).value as number;
    } finally {
      leaveNative();
    }
  };
  return Object.assign(bound, { driver: 'ffi-rs' as const, errno: () => lastErrno, addressOf });
}

// errno as the last call through ffi-rs on this thread left it, whichever table it was in.
let lastErrno = 0;

/**
 * Binds `table` from the first of `paths` that opens, under ffi-rs's process-wide library key
 * `key`. Entries this platform lacks (Signature.only) become stand-ins that throw.
 */
export function bindFfiRsTable<T extends Table>(table: T, paths: readonly string[], key: string): Bound<T> {
  const ffi = createRequire(import.meta.url)('ffi-rs') as FfiRs;
  openFirst(ffi, paths, key);
  const { DataType } = ffi;
  const memory = memoryType(ffi);
  const param: Record<ParamKind, FfiRsModule.FieldType> = {
    int: DataType.I32,
    uint: DataType.U32,
    ulong: DataType.U64,
    in: memory,
    out: memory,
    inout: memory,
    ptr: DataType.I64,
    long: DataType.I64,
  };
  const ret: Record<ReturnKind, FfiRsModule.DataType> = { int: DataType.I32, long: DataType.I64, void: DataType.Void };

  const bound: Record<string, unknown> = {};
  for (const [name, sig] of Object.entries(table)) {
    if (!available(sig)) {
      bound[name] = missing(name);
      continue;
    }
    if (sig.variadic !== undefined && VARIADIC_ABI) {
      // ffi-rs has no variadic calls, and a fixed prototype would put the arguments where
      // the callee does not look.
      bound[name] = (): never => {
        throw new Error(`${name}() is variadic, which ffi-rs cannot call on Apple arm64; use UVTS_FFI=koffi`);
      };
      continue;
    }
    const types = sig.params.map((p) => param[p]);
    const call: Call = {
      library: key,
      funcName: sig.symbol ?? name,
      retType: ret[sig.ret],
      paramsType: types,
      paramsValue: [],
      errno: true,
      freeResultMemory: false,
    };
    resolve(ffi, call);
    bound[name] = (...args: Arg[]): number => {
      // ffi-rs refuses a call whose argument count differs from the declared one.
      call.paramsValue = args;
      if (!enterNative()) throw new Error(`the process is exiting; ${name} was not called`);
      try {
        const { value, errnoCode } = ffi.load(call);
        lastErrno = errnoCode;
        return value as number;
      } finally {
        leaveNative();
      }
    };
  }
  return bound as Bound<T>;
}

/** A pointer parameter; the length is only read when an array is returned. */
function memoryType(ffi: FfiRs): FfiRsModule.FieldType {
  return ffi.arrayConstructor({ type: ffi.DataType.U8Array, length: 0 });
}

function openFirst(ffi: FfiRs, paths: readonly string[], key: string): void {
  let first: unknown;
  for (const path of paths) {
    try {
      // A no-op when the library is already open under this key (in another thread).
      ffi.open({ library: key, path });
      return;
    } catch (err) {
      first ??= err;
    }
  }
  throw first instanceof Error ? first : new Error(String(first));
}

// ffi-rs caches each function's address, on its first call, in a process-wide map that has no
// lock; a first call in one thread while another thread calls would change that map under the
// reader. Resolving every function in the first thread that binds leaves all later lookups,
// from any thread, reading only. A call with no arguments does it: ffi-rs looks the function up,
// then refuses the call for its argument count before anything runs. It also makes a missing
// function fail here, as koffi does, rather than at its first use.
function resolve(ffi: FfiRs, call: Call): void {
  try {
    ffi.load({ ...call, paramsValue: [] });
  } catch (err) {
    if (err instanceof Error && err.message.includes('Cannot find')) throw err;
  }
}
