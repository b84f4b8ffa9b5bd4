import { createRequire } from 'node:module';
import { enterNative, leaveNative } from './exit-guard.js';
import { RTLD_DEFAULT } from './libc.js';

// Node's own libuv, and the N-API call that finds this thread's Node loop, bound from the
// running node binary (which exports both for addons). Always through koffi, whichever driver
// UVTS_FFI names: koffi is uvts's one required dependency, and it is the one that gives this
// thread's napi_env (koffi.node.env) and lets Node's loop watch an fd (koffi.node.poll).
//
// Three features stand on this:
// - a loop in a worker thread watches its thread's Node loop, edge-triggered, so that
//   worker.terminate() (which pokes that loop) wakes a loop blocked in the kernel;
// - runAsync() has Node's loop watch the backend's fd;
// - Signal rides on libuv's own uv_signal_t, on a private libuv loop per uvts loop, so a
//   signal is caught by libuv's handler on whatever thread the kernel picks and written to a
//   pipe that loop watches (libuv's self-pipe), as uv_signal_t is in every libuv program.

type Koffi = typeof import('koffi');

export type Pointer = unknown;

export interface NodeUv {
  /** koffi itself, for node.poll and node.env. */
  readonly koffi: Koffi;
  uv_loop_size(): number;
  uv_handle_size(type: number): number;
  uv_req_size(type: number): number;
  uv_loop_init(loop: number): number;
  uv_loop_close(loop: number): number;
  uv_backend_fd(loop: Pointer | number): number;
  uv_run(loop: number, mode: number): number;
  uv_signal_init(loop: number, handle: number): number;
  uv_signal_start(handle: number, cb: number, signum: number): number;
  uv_signal_start_oneshot(handle: number, cb: number, signum: number): number;
  uv_signal_stop(handle: number): number;
  uv_close(handle: number, cb: number): void;
  /** This thread's Node loop (a uv_loop_t *), from its napi_env. */
  currentLoop(): Pointer;
  /** The address of a symbol of the process (dlsym(RTLD_DEFAULT, name)), 0 if none. */
  symbol(name: string): number;
}

/** uv_signal_cb as koffi declares it, once per thread (koffi refuses a type name twice). */
let signalCb: ReturnType<Koffi['pointer']> | undefined;

/** The koffi pointer type of uv_signal_cb, `void (*)(uv_signal_t *, int)`, for koffi.register. */
export function signalCallbackType(koffi: Koffi): ReturnType<Koffi['pointer']> {
  signalCb ??= koffi.pointer(koffi.proto('void uvts_signal_cb(void *handle, int signum)'));
  return signalCb;
}

/** uv_run_mode: UV_RUN_NOWAIT. */
export const UV_RUN_NOWAIT = 2;

let bound: NodeUv | Error | undefined;

/** Node's libuv and napi_get_uv_event_loop, bound on this thread, or why they cannot be. */
export function tryNodeUv(): NodeUv | Error {
  if (bound !== undefined) return bound;
  // koffi's addon initialization must not be cut short by the process's exit (exit-guard.ts):
  // under UVTS_FFI=ffi-rs, a worker's first loop loads koffi here.
  if (!enterNative()) return new Error("the process is exiting; Node's libuv was not bound");
  try {
    const koffi = createRequire(import.meta.url)('koffi') as Koffi;
    // null: the running program itself, whose exported symbols include libuv's and N-API's.
    const self = koffi.load(null as unknown as string);
    const getLoop = self.func('int napi_get_uv_event_loop(void *env, _Out_ void **loop)');
    // Bound on first use: node.exe on Windows exports no dlsym, and nothing there needs it.
    let dlsym: ((handle: bigint, name: string) => number | bigint) | undefined;
    const addr = 'uintptr_t';
    bound = {
      koffi,
      uv_loop_size: self.func('size_t uv_loop_size(void)') as () => number,
      uv_handle_size: self.func('size_t uv_handle_size(int type)') as (type: number) => number,
      uv_req_size: self.func('size_t uv_req_size(int type)') as (type: number) => number,
      uv_loop_init: self.func('uv_loop_init', 'int', [addr]) as (loop: number) => number,
      uv_loop_close: self.func('uv_loop_close', 'int', [addr]) as (loop: number) => number,
      uv_backend_fd: self.func('int uv_backend_fd(void *loop)') as (loop: Pointer | number) => number,
      uv_run: self.func('uv_run', 'int', [addr, 'int']) as (loop: number, mode: number) => number,
      uv_signal_init: self.func('uv_signal_init', 'int', [addr, addr]) as (loop: number, handle: number) => number,
      uv_signal_start: self.func('uv_signal_start', 'int', [addr, addr, 'int']) as (
        h: number,
        cb: number,
        s: number,
      ) => number,
      uv_signal_start_oneshot: self.func('uv_signal_start_oneshot', 'int', [addr, addr, 'int']) as (
        h: number,
        cb: number,
        s: number,
      ) => number,
      uv_signal_stop: self.func('uv_signal_stop', 'int', [addr]) as (h: number) => number,
      uv_close: self.func('uv_close', 'void', [addr, addr]) as (h: number, cb: number) => void,
      currentLoop(): Pointer {
        const out: Pointer[] = [null];
        if (getLoop(koffi.node.env, out) !== 0) throw new Error('napi_get_uv_event_loop failed');
        return out[0];
      },
      symbol(name: string): number {
        dlsym ??= self.func('uintptr_t dlsym(uintptr_t handle, const char *name)') as typeof dlsym & {};
        // A uintptr_t: -2 (the BSDs' RTLD_DEFAULT) as the unsigned value C sees.
        return Number(dlsym(BigInt.asUintN(64, BigInt(RTLD_DEFAULT)), name));
      },
    };
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    bound = new Error(`Node's libuv could not be bound from the node binary (${why})`, { cause: err });
  } finally {
    leaveNative();
  }
  return bound;
}
