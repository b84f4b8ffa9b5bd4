import { UV_RUN_NOWAIT, signalCallbackType, tryNodeUv, type NodeUv } from '../../ffi/node.js';
import { OVERLAPPED_ENTRY, WAIT_TIMEOUT, type Kernel32 } from '../../ffi/win32.js';
import { UVError, errnoError } from '../errors.js';
import type { CompletionOwner } from './iocp.js';
import type { SignalSource, SignalTarget } from './signal-source.js';

// Signals on Windows' iocp backend (libuv's src/win/signal.c, reached through Node's own libuv,
// ffi/node.ts).
//
// Windows has no POSIX signals. libuv installs one console control handler for the process
// (SetConsoleCtrlHandler, when Node's libuv initializes) and maps CTRL_C_EVENT to SIGINT,
// CTRL_BREAK_EVENT to SIGBREAK and CTRL_CLOSE_EVENT to SIGHUP; its tty code raises SIGWINCH.
// Raising one (uv__signal_dispatch, on the handler's own thread) walks every started uv_signal_t
// of the process under a lock, swaps the signal number into the handle's `pending_signum`, and,
// when that word was 0, posts one packet to the completion port of the handle's loop, whose
// OVERLAPPED is the handle's own `signal_req`'s. While any handle watches the signal, the
// handler says it handled the event, so Windows does not end the process.
//
// A libuv loop on Windows has no fd that a uvts loop could watch, so the relay of
// lib/handles/signal-relay.ts cannot serve here. Instead the uv_signal_t's live on a private
// libuv loop that is never run while they may post: right after uv_loop_init its `iocp` field
// is made this uvts loop's own port, so the packets come to the port the loop waits on, and
// the backend hands each to its uv_signal_t here by the OVERLAPPED's address (a standing
// registration, IocpBackend.listen). What uv__process_signal_req would do on the private loop is
// done here: swap pending_signum back to 0 (Atomics.exchange is the same locked exchange as
// InterlockedExchange, so a signal raised after it posts again), and deliver if the number is
// the one the handle watches now.
//
// The private loop runs once only, when the uvts loop closes, with its own port put back and
// no uv_signal_t started, so no packet can reach either port: it then runs the handles' endgames
// and closes. Until then a released uv_signal_t waits on a free list for the next Signal (so
// closing a Signal runs no libuv loop, and memory stays bounded by the most Signals open at once);
// one whose packet is still in flight joins the list only when that packet has been dequeued,
// so a late packet never reaches a handle that did not ask for it.
//
// Departures from libuv, each for a reason:
// - oneshot: the Signal stops itself before its callback (signal.ts), as on Unix, and the
//   uv_signal_t is started with uv_signal_start. libuv's oneshot flags are never cleared once
//   set, which would keep a reused uv_signal_t oneshot for ever. So a second CTRL_C that comes
//   before the loop has taken the first is claimed by a oneshot handle too, where libuv's
//   handle stops claiming at the first.
// - A loop keeps its private libuv loop (a completion port and a mutex) from its first Signal
//   until it closes, not only while Signals exist: tearing it down needs every packet dequeued.

/** uv_handle_type's UV_SIGNAL, and uv_req_type's UV_REQ and (libuv's private list) UV_SIGNAL_REQ. */
const UV_SIGNAL = 16;
const UV_REQ = 1;
const UV_SIGNAL_REQ = 18;

// The fields of uv_loop_t that are read or written, on 64-bit Windows (x64, arm64), as libuv
// 1.x's include/uv.h and include/uv/win.h lay them out (libuv keeps its ABI within 1.x):
//
//   offset | size | field
//   -------+------+---------------------------------------------------------------------
//        0 |    8 | void *data
//        8 |    4 | unsigned int active_handles (4 bytes of padding follow)
//       16 |   16 | struct uv__queue handle_queue
//       32 |    8 | union { void *unused; unsigned int count; } active_reqs
//       40 |    8 | void *internal_fields
//       48 |    4 | unsigned int stop_flag (4 bytes of padding follow)
//       56 |    8 | HANDLE iocp: the first of UV_LOOP_PRIVATE_FIELDS, what is swapped
//
// Checked before it is written: the value there must be a completion port that answers an
// empty GetQueuedCompletionStatusEx with WAIT_TIMEOUT, which a fresh loop's port does.
const LOOP_IOCP = 56;

// uv_signal_t on 64-bit Windows (uv_handle_size(UV_SIGNAL) is 264; uv_req_t is 112):
//
//   offset | size | field
//   -------+------+---------------------------------------------------------------------
//        0 |    8 | void *data
//        8 |    8 | uv_loop_t *loop                         checked: the private loop
//       16 |    4 | uv_handle_type type                     checked: UV_SIGNAL
//       24 |    8 | uv_close_cb close_cb
//       32 |   16 | struct uv__queue handle_queue
//       48 |   32 | union { int fd; void *reserved[4]; } u
//       80 |    8 | uv_handle_t *endgame_next
//       88 |    4 | unsigned int flags
//       96 |    8 | uv_signal_cb signal_cb
//      104 |    4 | int signum                              checked after uv_signal_start
//      112 |   32 | RB_ENTRY(uv_signal_s) tree_entry (3 pointers and an int)
//      144 |  112 | struct uv_req_s signal_req:
//      144 |    8 |   void *data                            checked: the handle itself
//      152 |    4 |   uv_req_type type                      checked: UV_SIGNAL_REQ
//      160 |   48 |   void *reserved[6]
//      208 |   32 |   u.io.overlapped: the OVERLAPPED whose address the packet carries
//      240 |    8 |   u.io.queued_bytes
//      248 |    8 |   struct uv_req_s *next_req
//      256 |    4 | unsigned long pending_signum (32-bit on Windows)
//      260 |    4 | padding to 264
const SIGNAL_SIZE = 264;
const REQ_SIZE = 112;
const SIGNAL_LOOP = 8;
const SIGNAL_TYPE = 16;
const SIGNAL_SIGNUM = 104;
const SIGNAL_REQ = 144;
const SIGNAL_REQ_TYPE = 152;
const SIGNAL_OVERLAPPED = 208;
const SIGNAL_PENDING = 256;

/** What the backend lends: its port, and standing registrations of OVERLAPPED addresses. */
export interface SignalPort {
  listen(address: number, owner: CompletionOwner): void;
  unlisten(address: number): void;
}

/** One uv_signal_t of the private loop, and the OVERLAPPED packets name it by. */
class Slot implements CompletionOwner {
  readonly memory = new Uint8Array(SIGNAL_SIZE);
  readonly view = new DataView(this.memory.buffer);
  /** pending_signum, as a word Atomics can exchange. */
  readonly pending = new Int32Array(this.memory.buffer, SIGNAL_PENDING, 1);
  readonly address: number;
  /** The signal it watches now, 0 while stopped. */
  signum = 0;
  target: SignalTarget | undefined = undefined;
  /** Registered with the backend: started, or stopped with a packet not yet dequeued. */
  listening = false;
  /** Its Signal is gone: the slot joins the free list once no packet can come. */
  released = false;

  constructor(
    private readonly owner: IocpSignals,
    koffi: NodeUv['koffi'],
  ) {
    this.address = Number(koffi.address(this.memory));
  }

  get overlapped(): number {
    return this.address + SIGNAL_OVERLAPPED;
  }

  onCompletion(_status: number, _bytes: number): void {
    this.owner.completed(this);
  }
}

/** Signals of one iocp loop (see the file's comment). */
export class IocpSignals implements SignalSource {
  /** libuv's uv__signal_start refuses only numbers out of 1..NSIG-1, and Node names none such. */
  readonly uncatchable: readonly string[] = [];
  private readonly uv: NodeUv;
  private readonly backend: SignalPort;
  private readonly uvLoop: Uint8Array;
  private readonly uvLoopAddress: number;
  private readonly loopView: DataView;
  /** The private loop's own port, put back before it runs or closes. */
  private readonly savedPort: bigint;
  private readonly callback: unknown;
  private readonly callbackAddress: number;
  private readonly slots = new Map<number, Slot>();
  private readonly free: Slot[] = [];
  private closed = false;

  private constructor(uv: NodeUv, backend: SignalPort, port: number, k32: Kernel32) {
    this.uv = uv;
    this.backend = backend;
    if (uv.uv_handle_size(UV_SIGNAL) !== SIGNAL_SIZE || uv.uv_req_size(UV_REQ) !== REQ_SIZE) {
      throw layout(`uv_signal_t is ${uv.uv_handle_size(UV_SIGNAL)} bytes and uv_req_t ${uv.uv_req_size(UV_REQ)}`);
    }
    const size = uv.uv_loop_size();
    if (size < LOOP_IOCP + 8) throw layout(`uv_loop_t is ${size} bytes`);
    this.uvLoop = new Uint8Array(size);
    this.uvLoopAddress = Number(uv.koffi.address(this.uvLoop));
    this.loopView = new DataView(this.uvLoop.buffer);
    const r = uv.uv_loop_init(this.uvLoopAddress);
    if (r !== 0) throw errnoError(-r, 'uv_loop_init');
    this.savedPort = this.loopView.getBigUint64(LOOP_IOCP, true);
    if (!isEmptyPort(k32, this.savedPort)) {
      uv.uv_loop_close(this.uvLoopAddress);
      throw layout(`uv_loop_t's field at ${LOOP_IOCP} is not its completion port`);
    }
    // libuv calls it only from uv__process_signal_req, which never runs (no packet reaches the
    // private loop's own port); a no-op rather than NULL in case that ever changes.
    this.callback = uv.koffi.register(() => {}, signalCallbackType(uv.koffi));
    this.callbackAddress = Number(uv.koffi.address(this.callback));
    this.loopView.setBigUint64(LOOP_IOCP, BigInt(port), true);
  }

  /** Signals for the loop whose port is `port`; ENOSYS, saying why, where they cannot be had. */
  static open(backend: SignalPort, port: number, k32: Kernel32): IocpSignals {
    if (process.arch !== 'x64' && process.arch !== 'arm64') {
      throw new UVError('ENOSYS', 'uv_signal_init', undefined, `uv_signal_t's layout is known for 64-bit Windows only`);
    }
    const uv = tryNodeUv();
    if (uv instanceof Error) throw new UVError('ENOSYS', 'uv_signal_init', undefined, uv.message);
    return new IocpSignals(uv, backend, port, k32);
  }

  /** uv_signal_init, or a released uv_signal_t no packet can reach any more. */
  newHandle(): { memory: Uint8Array; address: number } {
    if (this.closed) throw new UVError('EINVAL', 'uv_signal_init', undefined, 'the loop is closed');
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    const slot = new Slot(this, this.uv.koffi);
    const r = this.uv.uv_signal_init(this.uvLoopAddress, slot.address);
    if (r !== 0) throw errnoError(-r, 'uv_signal_init');
    // On the private loop's handle queue from here on: closed with the loop, whatever follows.
    this.slots.set(slot.address, slot);
    const v = slot.view;
    if (
      v.getBigUint64(SIGNAL_LOOP, true) !== BigInt(this.uvLoopAddress) ||
      v.getUint32(SIGNAL_TYPE, true) !== UV_SIGNAL ||
      v.getBigUint64(SIGNAL_REQ, true) !== BigInt(slot.address) ||
      v.getUint32(SIGNAL_REQ_TYPE, true) !== UV_SIGNAL_REQ ||
      v.getInt32(SIGNAL_SIGNUM, true) !== 0 ||
      Atomics.load(slot.pending, 0) !== 0
    ) {
      throw layout('uv_signal_init left fields other than where they were expected');
    }
    return slot;
  }

  /**
   * uv_signal_start. `oneshot` is the Signal's own: it stops itself before its callback (see the
   * departures in the file's comment).
   */
  start(address: number, signum: number, _oneshot: boolean, target: SignalTarget): void {
    const slot = this.slot(address);
    // Registered before the handler can post, and kept while the slot stays started.
    if (!slot.listening) {
      this.backend.listen(slot.overlapped, slot);
      slot.listening = true;
    }
    const r = this.uv.uv_signal_start(address, this.callbackAddress, signum);
    if (r !== 0) {
      this.settle(slot);
      throw errnoError(-r, 'uv_signal_start');
    }
    slot.signum = signum;
    slot.target = target;
    if (slot.view.getInt32(SIGNAL_SIGNUM, true) !== signum) {
      this.stop(address);
      throw layout("uv_signal_start's signum is not where it was expected");
    }
  }

  /** uv_signal_stop: once it returns, the handler no longer sees the handle. */
  stop(address: number): void {
    const slot = this.slot(address);
    this.uv.uv_signal_stop(address);
    slot.signum = 0;
    slot.target = undefined;
    this.settle(slot);
  }

  /** The Signal is gone (libuv's uv_close): its uv_signal_t is kept for the next one. */
  release(address: number): void {
    const slot = this.slot(address);
    this.stop(address);
    slot.released = true;
    this.settle(slot);
  }

  /**
   * uv__process_signal_req, for a packet the backend dequeued: pending_signum back to 0 before
   * the callback, so a signal raised from now on posts a packet of its own; delivered only if
   * the handle still watches that signal (it may have been stopped or restarted on another).
   */
  completed(slot: Slot): void {
    const signum = Atomics.exchange(slot.pending, 0, 0);
    const target = slot.target;
    if (signum !== 0 && signum === slot.signum && target !== undefined) target.deliver();
    else this.settle(slot);
  }

  /** uv_loop_close of the private loop, when the uvts loop closes (every Signal is closed). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const slot of this.slots.values()) {
      this.uv.uv_signal_stop(slot.address);
      // A packet still in the uvts loop's port is discarded with that port; libuv's endgame
      // waits for pending_signum to be 0.
      Atomics.store(slot.pending, 0, 0);
      if (slot.listening) this.backend.unlisten(slot.overlapped);
      slot.listening = false;
    }
    this.loopView.setBigUint64(LOOP_IOCP, this.savedPort, true);
    for (const slot of this.slots.values()) this.uv.uv_close(slot.address, 0);
    // The endgames of the closed handles, then the loop; nothing of theirs is in its port.
    this.uv.uv_run(this.uvLoopAddress, UV_RUN_NOWAIT);
    this.uv.uv_loop_close(this.uvLoopAddress);
    this.uv.koffi.unregister(this.callback as Parameters<NodeUv['koffi']['unregister']>[0]);
    this.slots.clear();
    this.free.length = 0;
  }

  /** A stopped slot no packet can reach leaves the backend, and the free list takes it if released. */
  private settle(slot: Slot): void {
    if (slot.signum !== 0 || Atomics.load(slot.pending, 0) !== 0) return;
    if (slot.listening) {
      this.backend.unlisten(slot.overlapped);
      slot.listening = false;
    }
    if (slot.released) {
      slot.released = false;
      this.free.push(slot);
    }
  }

  private slot(address: number): Slot {
    const slot = this.slots.get(address);
    if (slot === undefined) throw new RangeError(`no uv_signal_t of this loop at ${address}`);
    return slot;
  }
}

/** Whether `handle` is a completion port with nothing queued (a fresh libuv loop's). */
function isEmptyPort(k32: Kernel32, handle: bigint): boolean {
  if (handle <= 0n || handle > 0x7fffffffn) return false;
  const entries = new Uint8Array(OVERLAPPED_ENTRY.size);
  const removed = new Int32Array(1);
  if (k32.GetQueuedCompletionStatusEx(Number(handle), entries, 1, removed, 0, 0) !== 0) return false;
  return k32.GetLastError() === WAIT_TIMEOUT;
}

/** ENOSYS rather than a write to a wrong offset. */
function layout(what: string): UVError {
  return new UVError(
    'ENOSYS',
    'uv_signal_init',
    undefined,
    `Node's libuv does not have the layout uvts knows: ${what}`,
  );
}
