import { tryLibc } from '../../ffi/driver.js';
import {
  EVFILT_EXCEPT,
  EVFILT_READ,
  EVFILT_USER,
  EVFILT_WRITE,
  EV_ADD,
  EV_CLEAR,
  EV_DELETE,
  EV_EOF,
  EV_ERROR,
  EV_RECEIPT,
  KEVENT,
  KEVENT_TIMESPEC,
  NOTE_OOB,
  NOTE_TRIGGER,
  VIA_LIBKQUEUE,
  tryKevent,
  type Kevent,
} from '../../ffi/kevent.js';
import { EINTR, F_SETFD, FD_CLOEXEC, type Libc } from '../../ffi/libc.js';
import { UVError, errnoError } from '../errors.js';
import { alloc, free, heap } from '../shared-heap.js';
import type { LoopMetrics } from './backend.js';
import { IO_DISCONNECT, IO_ERROR, IO_PRIORITIZED, IO_READABLE, IO_WRITABLE, WAIT_WORD } from './backend.js';
import { CMD, IDLE, KqueueWaiter, WAIT } from './kqueue-waiter.js';
import { ReadinessBackend, nodeLoopFd } from './readiness.js';
import { WAKE_KEVENT, closeWakeWord, createWakeWord } from './wake-word.js';

/** As libuv: 1024 events per kevent call. */
const MAX_EVENTS = 1024;
/** libkqueue returns at most 512 events per call whatever nevents is, so 512 may mean full too. */
const LIBKQUEUE_CAP = 512;
/** Changes applied per kevent call; more are applied in further calls. */
const MAX_CHANGES = 64;
/** The ident of the EVFILT_USER event that wakes the loop. */
const WAKE_IDENT = 0;

// The kernel filters an fd may have, as bits of `registered`. DISCONNECT alone is watched with
// an edge-triggered read filter: it fires once per arrival, not for as long as unread data
// waits, so a watcher that wants only the peer's EOF does not make the loop spin. (libuv
// registers no filter for UV__POLLRDHUP alone, so such a uv_poll never fires on kqueue.)
const READ_LEVEL = 1;
const READ_EDGE = 2;
const WRITE = 4;
const EXCEPT = 8;

/** The filters that give the IO_* events a watcher asks for. */
function filtersFor(events: number): number {
  let filters = 0;
  if ((events & IO_READABLE) !== 0) filters |= READ_LEVEL;
  else if ((events & IO_DISCONNECT) !== 0) filters |= READ_EDGE;
  if ((events & IO_WRITABLE) !== 0) filters |= WRITE;
  if ((events & IO_PRIORITIZED) !== 0 && EVFILT_EXCEPT !== 0) filters |= EXCEPT;
  return filters;
}

/**
 * A struct kevent array in a Uint8Array, read and written through typed views. The fd is
 * stored in ident's low 32 bits; -1 there marks a record blanked by forget().
 */
class KeventList {
  readonly bytes: Uint8Array<ArrayBufferLike>;
  readonly address: number;
  private readonly i32: Int32Array;
  private readonly i16: Int16Array;
  private readonly u16: Uint16Array;
  private readonly u32: Uint32Array;

  /** `count` records in memory of their own, or in `bytes` (shared memory another thread fills). */
  constructor(libc: Libc, count: number, bytes: Uint8Array<ArrayBufferLike> = new Uint8Array(count * KEVENT.size)) {
    if (bytes.byteLength !== count * KEVENT.size || bytes.byteOffset % 8 !== 0) {
      throw new RangeError(`a list of ${count} struct kevent needs ${count * KEVENT.size} bytes, 8-aligned`);
    }
    const { buffer, byteOffset, byteLength } = bytes;
    this.bytes = bytes;
    this.i32 = new Int32Array(buffer, byteOffset, byteLength >> 2);
    this.i16 = new Int16Array(buffer, byteOffset, byteLength >> 1);
    this.u16 = new Uint16Array(buffer, byteOffset, byteLength >> 1);
    this.u32 = new Uint32Array(buffer, byteOffset, byteLength >> 2);
    this.address = libc.addressOf(bytes);
  }

  /** EV_SET(&list[i], fd, filter, flags, fflags, 0, NULL). */
  set(i: number, fd: number, filter: number, flags: number, fflags: number): void {
    const at = i * KEVENT.size;
    this.bytes.fill(0, at, at + KEVENT.size);
    this.i32[(at + KEVENT.ident) >> 2] = fd;
    this.i16[(at + KEVENT.filter) >> 1] = filter;
    this.u16[(at + KEVENT.flags) >> 1] = flags;
    this.u32[(at + KEVENT.fflags) >> 2] = fflags;
  }

  fd(i: number): number {
    return this.i32[(i * KEVENT.size + KEVENT.ident) >> 2] as number;
  }

  filter(i: number): number {
    return this.i16[(i * KEVENT.size + KEVENT.filter) >> 1] as number;
  }

  flags(i: number): number {
    return this.u16[(i * KEVENT.size + KEVENT.flags) >> 1] as number;
  }

  fflags(i: number): number {
    return this.u32[(i * KEVENT.size + KEVENT.fflags) >> 2] as number;
  }

  /** data's low 32 bits: an errno in an EV_ERROR record. */
  data(i: number): number {
    return this.i32[(i * KEVENT.size + KEVENT.data) >> 2] as number;
  }

  blank(i: number): void {
    const at = (i * KEVENT.size + KEVENT.ident) >> 2;
    this.i32[at] = -1;
    this.i32[at + 1] = -1;
  }
}

/**
 * kqueue (libuv's src/unix/kqueue.c), for macOS and FreeBSD, and on Linux through libkqueue
 * for tests. Interest changes are queued and applied at the start of the next wait, only where
 * a filter must be added or deleted. They go to the kernel in a call of their own with
 * EV_RECEIPT and room for exactly one receipt each, so every change reports its own error and
 * none waits behind the poll: libkqueue drops error records when the event list has room and
 * nothing is ready. libuv applies them with the wait instead and aborts on an error. A watch
 * the kernel refused reaches its watcher as IO_ERROR, as on epoll. Other threads wake the loop
 * with EVFILT_USER (NOTE_TRIGGER), and only while it is blocked in kevent; with no fd
 * watched, the loop sleeps on its wake word instead, as the epoll backend does.
 */
export class KqueueBackend extends ReadinessBackend {
  readonly name = 'kqueue' as const;
  readonly wake: Int32Array;
  readonly watchable = IO_READABLE | IO_WRITABLE | IO_DISCONNECT | (EVFILT_EXCEPT !== 0 ? IO_PRIORITIZED : 0);
  private readonly kev: Kevent;
  private kq: number;
  /** This worker thread's Node loop, watched edge-triggered (nodeLoopFd); -1 on the main thread. */
  private nodeFd = -1;

  private readonly events: KeventList;
  /** Where `events` lives in the shared heap, so a waiter thread can fill it (runAsync). */
  private readonly eventsAt: number;
  private waiter: KqueueWaiter | undefined;
  private readonly poke = (): void => wakeKqueue(this.kq);
  private readonly changes: KeventList;
  private readonly receipts: KeventList;
  private nchanges = 0;
  private readonly timespec = new BigInt64Array(KEVENT_TIMESPEC.size / 8);
  private readonly timespecAddress: number;

  constructor(libc: Libc, kev: Kevent, metrics: LoopMetrics) {
    super(libc, metrics);
    this.kev = kev;
    this.changes = new KeventList(libc, MAX_CHANGES);
    this.receipts = new KeventList(libc, MAX_CHANGES);
    this.timespecAddress = libc.addressOf(this.timespec);
    this.eventsAt = alloc(MAX_EVENTS * KEVENT.size);
    if (this.eventsAt === 0) throw new RangeError('the shared heap is full');
    this.kq = -1;
    try {
      this.events = new KeventList(libc, MAX_EVENTS, new Uint8Array(heap.sab, this.eventsAt, MAX_EVENTS * KEVENT.size));
      this.kq = kev.kqueue();
      if (this.kq < 0) throw errnoError(libc.errno(), 'kqueue');
      // As uv__kqueue_init: the kqueue fd is not inherited by programs this process runs.
      libc.fcntl(this.kq, F_SETFD, FD_CLOEXEC);
      const errno = this.applyOne(WAKE_IDENT, EVFILT_USER, EV_ADD | EV_CLEAR);
      if (errno !== 0)
        throw errnoError(errno, 'kevent', undefined, 'EVFILT_USER, which wakes the loop, could not be added');
      const nodeFd = nodeLoopFd();
      this.nodeFd = nodeFd >= 0 && this.applyOne(nodeFd, EVFILT_READ, EV_ADD | EV_CLEAR) === 0 ? nodeFd : -1;
      this.wake = createWakeWord(WAKE_KEVENT, this.kq);
    } catch (err) {
      // No loop, and nothing held for it.
      if (this.kq >= 0) libc.close(this.kq);
      free(this.eventsAt);
      throw err;
    }
  }

  forget(fd: number): void {
    if (fd >= this.wanted.length) return;
    this.watchers[fd] = undefined;
    this.wanted[fd] = 0;
    // Records of the current batch for this fd belong to the old watcher: a new fd with the
    // same number must not receive them (uv__platform_invalidate_fd).
    for (let i = this.next; i < this.count; i++) if (this.events.fd(i) === fd) this.events.blank(i);
    // Deleted now, not at the next flush: the caller is about to close the fd, and a kqueue
    // that still holds a closed fd's filters (libkqueue does) refuses its number's next owner.
    const have = this.registered[fd] as number;
    if (have !== 0) {
      this.registered[fd] = 0;
      this.interest--;
      this.queueFilters(fd, have, EV_DELETE);
      this.apply();
    }
  }

  checkFd(fd: number, syscall: string): void {
    // uv__io_check_fd: add a read filter, then delete it. An fd we already watch is pollable.
    if (fd < this.registered.length && this.registered[fd] !== 0) return;
    const errno = this.applyOne(fd, EVFILT_READ, EV_ADD);
    if (errno !== 0) throw errnoError(errno, syscall, undefined, `kqueue cannot watch fd ${fd}`);
    this.applyOne(fd, EVFILT_READ, EV_DELETE);
  }

  close(): void {
    closeWakeWord(this.wake);
    // The waiter leaves kevent before the kqueue it waits on is closed.
    this.waiter?.close(this.poke);
    this.libc.close(this.kq);
    // libkqueue closes a kqueue's other fds later, from a thread of its own, by number: an fd
    // that this process opened meanwhile under one of those numbers was closed behind its
    // owner's back (fs.spec on kqueue: a spawnSync pipe, EBADF, 4 runs in 27; 0 in 27 with
    // this). Draining now closes them while the numbers are still libkqueue's.
    if (VIA_LIBKQUEUE) this.kev.libkqueue_drain_pending_close();
    free(this.eventsAt);
  }

  /** Queues the filter changes that bring the kernel's in line with what `fd`'s watcher wants. */
  protected sync(fd: number): void {
    const want = filtersFor(this.wanted[fd] as number);
    const have = this.registered[fd] as number;
    if (want === have) return;
    // Deleted before added: switching between the level and the edge read filter is both.
    this.queueFilters(fd, have & ~want, EV_DELETE);
    this.queueFilters(fd, want & ~have, EV_ADD);
    if (have === 0) this.interest++;
    else if (want === 0) this.interest--;
    this.registered[fd] = want;
  }

  protected synced(): void {
    this.apply();
  }

  /**
   * A kqueue fd does not nest in Node's loop (libkqueue's is never readable, and some kernels'
   * never fire), so a waiter thread blocks in kevent for runAsync, copies the events into this
   * loop's list in the shared heap, wakes the loop and waits for it to take them, since
   * level-triggered events would otherwise be reported again (kqueue-waiter.ts).
   */
  protected armKernelWait(): number {
    const waiter = (this.waiter ??= new KqueueWaiter(this.kq, this.eventsAt, MAX_EVENTS));
    waiter.arm();
    this.asyncWord = { word: waiter.control, index: CMD, value: WAIT };
    return WAIT_WORD;
  }

  protected override disarmKernelWait(): void {
    const waiter = this.waiter;
    if (waiter === undefined || Atomics.load(waiter.control, CMD) === IDLE) return;
    const n = waiter.disarm(this.poke);
    if (n < 0) throw errnoError(-n, 'kevent');
    this.preset = n;
  }

  /** Queues one change per filter in `filters`, applying the list whenever it fills. */
  private queueFilters(fd: number, filters: number, op: number): void {
    // A level read filter and an edge one are the same kernel filter: deleting either is one.
    if ((filters & (READ_LEVEL | READ_EDGE)) !== 0) {
      const clear = op === EV_ADD && (filters & READ_EDGE) !== 0 ? EV_CLEAR : 0;
      this.queueChange(fd, EVFILT_READ, op | clear, 0);
    }
    if ((filters & WRITE) !== 0) this.queueChange(fd, EVFILT_WRITE, op, 0);
    if ((filters & EXCEPT) !== 0) this.queueChange(fd, EVFILT_EXCEPT, op, NOTE_OOB);
  }

  private queueChange(fd: number, filter: number, flags: number, fflags: number): void {
    if (this.nchanges === MAX_CHANGES) this.apply();
    this.changes.set(this.nchanges++, fd, filter, flags | EV_RECEIPT, fflags);
  }

  /**
   * Applies the queued changes in a call of their own, then handles each receipt: a refused
   * add takes the filter back and tells the watcher; a refused delete means the filter is
   * gone already (the fd was closed), which is what was asked.
   */
  private apply(): void {
    while (this.nchanges !== 0) {
      const n = this.nchanges;
      this.nchanges = 0;
      const got = this.submit(n);
      // Refused adds are gathered before any is handled: refuse() queues deletes, which reuse
      // the change and receipt lists. Only a refusal allocates.
      let refused: number[] | undefined;
      if (got < 0) {
        // The changelist itself was refused (no memory, or a bad address): the kernel applied
        // none of it, so nothing is registered and every watcher hears of it.
        for (let i = 0; i < n; i++) {
          if ((this.changes.flags(i) & EV_ADD) !== 0) (refused ??= []).push(this.changes.fd(i), this.changes.filter(i));
        }
      } else {
        const receipts = this.receipts;
        for (let i = 0; i < got; i++) {
          const flags = receipts.flags(i);
          if ((flags & EV_ERROR) === 0 || receipts.data(i) === 0 || (flags & EV_ADD) === 0) continue;
          (refused ??= []).push(receipts.fd(i), receipts.filter(i));
        }
      }
      if (refused !== undefined) {
        for (let i = 0; i < refused.length; i += 2) this.refuse(refused[i] as number, refused[i + 1] as number);
      }
    }
  }

  /**
   * Applies one change on its own, with no other queued (checkFd and the constructor); its
   * errno, 0 if it was accepted.
   */
  private applyOne(fd: number, filter: number, flags: number): number {
    if (this.nchanges !== 0)
      throw new Error(`kqueue: ${this.nchanges} changes still queued before a change of its own`);
    this.changes.set(0, fd, filter, flags | EV_RECEIPT, 0);
    const got = this.submit(1);
    if (got < 0) return this.libc.errno();
    const receipts = this.receipts;
    return got === 1 && (receipts.flags(0) & EV_ERROR) !== 0 ? receipts.data(0) : 0;
  }

  /** kevent(kq, changes, n, receipts, n, {0, 0}): never blocks, one receipt per change. */
  private submit(n: number): number {
    this.timespec[0] = 0n;
    this.timespec[1] = 0n;
    let got = this.kev.kevent(this.kq, this.changes.address, n, this.receipts.address, n, this.timespecAddress);
    while (got < 0 && this.libc.errno() === EINTR) {
      got = this.kev.kevent(this.kq, this.changes.address, n, this.receipts.address, n, this.timespecAddress);
    }
    return got;
  }

  /**
   * The kernel refused to add `filter` on `fd` (EBADF for a closed fd, ENOENT for a number
   * libkqueue still holds from a closed one): drop the watch, and tell its watcher, which
   * hears IO_ERROR as on epoll.
   */
  private refuse(fd: number, filter: number): void {
    if (fd < 0 || fd >= this.registered.length) return;
    const bit = filter === EVFILT_READ ? READ_LEVEL | READ_EDGE : filter === EVFILT_WRITE ? WRITE : EXCEPT;
    const have = this.registered[fd] as number;
    if ((have & bit) === 0) return;
    const rest = have & ~bit;
    // What else was added for the fd goes too: the watcher stops at its error.
    if (rest !== 0) {
      this.queueFilters(fd, rest, EV_DELETE);
      this.apply();
    }
    this.registered[fd] = 0;
    this.interest--;
    this.refuseWatcher(fd);
  }

  /** One kevent wait (-1 ms: no limit): the count of events, or -1 if a signal interrupted it. */
  protected waitOnce(timeout: number): number {
    let ts = 0;
    if (timeout >= 0) {
      this.timespec[0] = BigInt(Math.floor(timeout / 1000));
      this.timespec[1] = BigInt((timeout % 1000) * 1e6);
      ts = this.timespecAddress;
    }
    const n = this.kev.kevent(this.kq, 0, 0, this.events.address, MAX_EVENTS, ts);
    if (n >= 0) return n;
    const errno = this.libc.errno();
    if (errno !== EINTR) throw errnoError(errno, 'kevent');
    return -1;
  }

  protected isFull(count: number): boolean {
    return count === MAX_EVENTS || count === LIBKQUEUE_CAP;
  }

  protected dispatchBatch(): void {
    const list = this.events;
    while (this.next < this.count) {
      const i = this.next++;
      const fd = list.fd(i);
      const filter = list.filter(i);
      // The wakeup: STATE already told wait() about it, and EV_CLEAR reset it. Node poking
      // this thread's loop: returning to JavaScript is all it takes.
      if (fd === -1 || filter === EVFILT_USER || fd === this.nodeFd) continue;
      const watcher = this.watchers[fd];
      if (watcher === undefined) continue;
      const wanted = this.wanted[fd] as number;
      const flags = list.flags(i);
      let events = 0;
      if (filter === EVFILT_READ) {
        events |= wanted & IO_READABLE;
        if ((flags & EV_EOF) !== 0) events |= wanted & IO_DISCONNECT;
      } else if (filter === EVFILT_WRITE) {
        // EV_EOF here (the peer is gone, or a connect failed) is left for the write, or for
        // SO_ERROR, to report, as libuv does.
        events |= wanted & IO_WRITABLE;
      } else if (filter === EVFILT_EXCEPT) {
        events |= wanted & IO_PRIORITIZED;
      }
      if ((flags & EV_ERROR) !== 0) events |= IO_ERROR;
      if (events === 0) continue;
      this.metrics.events++;
      watcher.onIo(events, (flags & EV_EOF) !== 0 ? list.fflags(i) : 0);
    }
  }
}

/** kqueue and kevent for this thread, or a UVError (ENOSYS) saying why there are none. */
export function requireKevent(syscall: string): Kevent {
  const kev = tryKevent();
  if (kev instanceof Error) throw new UVError('ENOSYS', syscall, undefined, kev.message);
  return kev;
}

// One trigger record per thread, reused by every wake this thread sends.
let trigger: KeventList | undefined;
let triggerKev: Kevent | undefined;

/** Wakes a kqueue loop blocked in kevent, from any thread: EVFILT_USER with NOTE_TRIGGER. */
export function wakeKqueue(kq: number): void {
  if (trigger === undefined) {
    const kev = tryKevent();
    // The loop bound kevent through this driver, so this thread can too; if it could not,
    // there is no way to wake the loop and silence would lose the send.
    if (kev instanceof Error) throw kev;
    // tryKevent() bound libc first, so this is the thread's bound copy.
    const libc = tryLibc();
    if (libc instanceof Error) throw libc;
    trigger = new KeventList(libc, 1);
    trigger.set(0, WAKE_IDENT, EVFILT_USER, 0, NOTE_TRIGGER);
    triggerKev = kev;
  }
  // Retried when a signal interrupts it. Any other failure would mean the kqueue is gone,
  // which the wake word's WRITERS count rules out while the loop is open.
  const kev = triggerKev as Kevent;
  while (kev.kevent(kq, trigger.address, 1, 0, 0, 0) < 0 && tryLibcErrno() === EINTR);
}

function tryLibcErrno(): number {
  const libc = tryLibc();
  return libc instanceof Error ? 0 : libc.errno();
}
