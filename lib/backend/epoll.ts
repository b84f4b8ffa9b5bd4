import { tryLibc } from '../../ffi/driver.js';
import { EEXIST, EINTR, ENOENT, EPERM, type Libc } from '../../ffi/libc.js';
import {
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  EPOLLERR,
  EPOLLET,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  EPOLLPRI,
  EPOLLRDHUP,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_CTL_MOD,
  EPOLL_EVENT,
} from '../../ffi/os/linux.js';
import { errnoError } from '../errors.js';
import type { LoopMetrics } from './backend.js';
import {
  IO_DISCONNECT,
  IO_ERROR,
  IO_HANGUP,
  IO_INTEREST,
  IO_PRIORITIZED,
  IO_READABLE,
  IO_WRITABLE,
} from './backend.js';
import { ReadinessBackend, nodeLoopFd } from './readiness.js';
import { WAKE_EVENTFD, closeWakeWord, createWakeWord } from './wake-word.js';

/** As libuv: 1024 events per epoll_wait. */
const MAX_EVENTS = 1024;

/** IO_* interest as epoll's bits; errors and hang-ups the kernel reports unasked. */
function toEpoll(events: number): number {
  let mask = 0;
  if ((events & IO_READABLE) !== 0) mask |= EPOLLIN;
  if ((events & IO_WRITABLE) !== 0) mask |= EPOLLOUT;
  if ((events & IO_DISCONNECT) !== 0) mask |= EPOLLRDHUP;
  if ((events & IO_PRIORITIZED) !== 0) mask |= EPOLLPRI;
  return mask;
}

/** What epoll_wait reported, as IO_* bits. */
function fromEpoll(mask: number): number {
  let events = 0;
  if ((mask & EPOLLIN) !== 0) events |= IO_READABLE;
  if ((mask & EPOLLOUT) !== 0) events |= IO_WRITABLE;
  if ((mask & EPOLLRDHUP) !== 0) events |= IO_DISCONNECT;
  if ((mask & EPOLLPRI) !== 0) events |= IO_PRIORITIZED;
  if ((mask & EPOLLERR) !== 0) events |= IO_ERROR;
  if ((mask & EPOLLHUP) !== 0) events |= IO_HANGUP;
  return events;
}

/**
 * Linux's epoll (libuv's src/unix/linux.c, without io_uring). Interest changes are queued and
 * reach the kernel at the start of the next wait, and only when the mask differs from what the
 * kernel has, as libuv's watcher queue. Other threads wake the loop through an eventfd, and
 * only when it is blocked in epoll_wait; while no fd is watched the loop sleeps on its wake
 * word instead, so an iteration with no fd interest makes no syscall at all.
 */
export class EpollBackend extends ReadinessBackend {
  readonly name = 'epoll' as const;
  readonly watchable = IO_INTEREST;
  readonly wake: Int32Array;
  private readonly epfd: number;
  private readonly eventfd: number;
  /** This worker thread's Node loop, watched edge-triggered (nodeLoopFd); -1 on the main thread. */
  private readonly nodeFd: number;

  // One reusable buffer of struct epoll_event, read through a 32-bit view.
  private readonly buffer = new Uint8Array(MAX_EVENTS * EPOLL_EVENT.size);
  private readonly words = new Int32Array(this.buffer.buffer);
  private readonly ctlEvent = new Uint8Array(EPOLL_EVENT.size);
  private readonly ctlWords = new Int32Array(this.ctlEvent.buffer);
  private readonly drain = new Uint8Array(8);

  constructor(libc: Libc, metrics: LoopMetrics) {
    super(libc, metrics);
    this.epfd = libc.epoll_create1(EPOLL_CLOEXEC);
    if (this.epfd < 0) throw errnoError(libc.errno(), 'epoll_create1');
    this.eventfd = libc.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (this.eventfd < 0) {
      const errno = libc.errno();
      libc.close(this.epfd);
      throw errnoError(errno, 'eventfd');
    }
    this.ctl(EPOLL_CTL_ADD, this.eventfd, EPOLLIN);
    this.nodeFd = nodeLoopFd();
    if (this.nodeFd >= 0 && !this.ctl(EPOLL_CTL_ADD, this.nodeFd, EPOLLIN | EPOLLET)) this.nodeFd = -1;
    try {
      this.wake = createWakeWord(WAKE_EVENTFD, this.eventfd);
    } catch (err) {
      // The shared heap is full: no loop, and no fd held for it.
      libc.close(this.eventfd);
      libc.close(this.epfd);
      throw err;
    }
  }

  forget(fd: number): void {
    if (fd >= this.wanted.length) return;
    this.watchers[fd] = undefined;
    this.wanted[fd] = 0;
    // Events of the current batch for this fd belong to the old watcher: a new fd with the same
    // number must not receive them (uv__platform_invalidate_fd).
    const { size, data } = EPOLL_EVENT;
    for (let i = this.next; i < this.count; i++) {
      const at = (i * size + data) >> 2;
      if (this.words[at] === fd) this.words[at] = -1;
    }
    // Removed now, not at the next flush: the caller is about to close the fd, and a new fd
    // with its number must start from an empty registration.
    if (this.registered[fd] !== 0) {
      this.registered[fd] = 0;
      this.interest--;
      this.ctlEvent.fill(0);
      this.libc.epoll_ctl(this.epfd, EPOLL_CTL_DEL, fd, this.ctlEvent);
    }
  }

  checkFd(fd: number, syscall: string): void {
    // uv__io_check_fd: add, then remove. An fd we already watch is pollable by definition.
    if (fd < this.registered.length && this.registered[fd] !== 0) return;
    this.ctlEvent.fill(0);
    this.ctlWords[0] = EPOLLIN;
    if (this.libc.epoll_ctl(this.epfd, EPOLL_CTL_ADD, fd, this.ctlEvent) !== 0) {
      const errno = this.libc.errno();
      if (errno !== EEXIST) throw errnoError(errno, syscall, undefined, epollRefusal(errno, fd));
    }
    this.libc.epoll_ctl(this.epfd, EPOLL_CTL_DEL, fd, this.ctlEvent);
  }

  close(): void {
    closeWakeWord(this.wake);
    this.libc.close(this.eventfd);
    this.libc.close(this.epfd);
  }

  /** epoll_ctl ADD, MOD or DEL as the wanted mask now differs from the kernel's. */
  protected sync(fd: number): void {
    const want = toEpoll(this.wanted[fd] as number);
    const have = this.registered[fd] as number;
    if (want === have) return;
    if (want === 0) {
      this.ctlEvent.fill(0);
      this.libc.epoll_ctl(this.epfd, EPOLL_CTL_DEL, fd, this.ctlEvent);
      this.registered[fd] = 0;
      this.interest--;
      return;
    }
    if (!this.register(fd, have === 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, want)) return;
    if (have === 0) this.interest++;
    this.registered[fd] = want;
  }

  protected synced(): void {}

  /**
   * An epoll fd nests: Node's loop watches it readable while it has events (a worker's wake
   * reached the callback in 7.5 µs p50 on a 2-core machine, Node 20.20.2).
   */
  protected armKernelWait(): number {
    return this.epfd;
  }

  /** epoll_ctl ADD or MOD; false if the kernel refused the fd, whose watcher then hears of it. */
  private register(fd: number, op: number, events: number): boolean {
    if (this.ctl(op, fd, events)) return true;
    // The registration we thought the kernel had (or had not) is stale: the fd was closed and
    // its number reused behind our back. Try the other operation, as libuv retries EEXIST.
    const errno = this.libc.errno();
    if (
      (errno === EEXIST || errno === ENOENT) &&
      this.ctl(errno === EEXIST ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, events)
    ) {
      return true;
    }
    if (this.registered[fd] !== 0) {
      this.registered[fd] = 0;
      this.interest--;
    }
    this.refuseWatcher(fd);
    return false;
  }

  private ctl(op: number, fd: number, events: number): boolean {
    this.ctlEvent.fill(0);
    this.ctlWords[EPOLL_EVENT.events >> 2] = events;
    this.ctlWords[EPOLL_EVENT.data >> 2] = fd;
    return this.libc.epoll_ctl(this.epfd, op, fd, this.ctlEvent) === 0;
  }

  protected waitOnce(timeout: number): number {
    const n = this.libc.epoll_wait(this.epfd, this.buffer, MAX_EVENTS, timeout);
    if (n >= 0) return n;
    const errno = this.libc.errno();
    if (errno !== EINTR) throw errnoError(errno, 'epoll_wait');
    return -1;
  }

  protected isFull(count: number): boolean {
    return count === MAX_EVENTS;
  }

  protected dispatchBatch(): void {
    const words = this.words;
    const { size, events: evAt, data } = EPOLL_EVENT;
    while (this.next < this.count) {
      const i = this.next++;
      const fd = words[(i * size + data) >> 2] as number;
      if (fd === -1) continue;
      if (fd === this.eventfd) {
        // Its write was the wakeup; STATE already told wait() about it.
        this.libc.read(this.eventfd, this.drain, 8);
        continue;
      }
      // Node poked this thread's loop: returning to JavaScript is all it takes.
      if (fd === this.nodeFd) continue;
      const watcher = this.watchers[fd];
      if (watcher === undefined) continue;
      // Only what the watcher asks for now (an earlier callback may have changed it), plus the
      // error and hang-up conditions the kernel always reports.
      const mask =
        (words[(i * size + evAt) >> 2] as number) & (toEpoll(this.wanted[fd] as number) | EPOLLERR | EPOLLHUP);
      if (mask === 0) continue;
      this.metrics.events++;
      watcher.onIo(fromEpoll(mask), 0);
    }
  }
}

function epollRefusal(errno: number, fd: number): string {
  return errno === EPERM
    ? `fd ${fd} is a regular file or directory, which epoll cannot watch`
    : `epoll cannot watch fd ${fd}`;
}

const ONE = new Uint8Array(new BigUint64Array([1n]).buffer);

/** Wakes an epoll loop blocked in epoll_wait, from any thread: one write to its eventfd. */
export function wakeEpoll(eventfd: number): void {
  const libc = tryLibc();
  // The loop bound the same driver to make this eventfd, so this thread can bind it too; if it
  // could not, there is no way to wake the loop and silence would lose the send.
  if (libc instanceof Error) throw libc;
  // EAGAIN means the counter is already non-zero: the loop is being woken regardless.
  libc.write(eventfd, ONE, 8);
}
