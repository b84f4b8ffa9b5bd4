import { release } from 'node:os';
import { bindTable, tryLibc } from './driver.js';
import { LIBRARY_NAMES, RTLD_NODELETE, RTLD_NOW, type Bound, type Table } from './libc.js';

// kqueue and kevent (macOS, FreeBSD; on Linux, libkqueue for tests), bound as a table of their
// own because they may come from a library other than libc. Every pointer is a `ptr`: the
// backend keeps its changelist, event list and timespec in buffers whose addresses it takes
// once, and passes 0 for NULL (no changes, no events, no timeout).

export const KEVENT_FUNCTIONS = {
  kqueue: { ret: 'int', params: [] },
  // kevent(kq, const struct kevent *changelist, nchanges, struct kevent *eventlist, nevents,
  //        const struct timespec *timeout)
  kevent: { ret: 'int', params: ['int', 'ptr', 'int', 'ptr', 'int', 'ptr'] },
  // libkqueue only (on Linux the kqueue library is libkqueue): closes now the fds a closed
  // kqueue still holds, which it otherwise closes later from a thread of its own. Specs that
  // count fds call it first.
  libkqueue_drain_pending_close: { ret: 'void', params: [], only: ['linux'] },
} as const satisfies Table;

export type Kevent = Bound<typeof KEVENT_FUNCTIONS>;

/** Whether kqueue here is libkqueue (Linux has no kqueue of its own), with its quirks. */
export const VIA_LIBKQUEUE = process.platform === 'linux';

// struct kevent on LP64. macOS, FreeBSD up to 11 and libkqueue use 32 bytes; FreeBSD 12 made
// it 64 (the old layout survives only as the versioned symbol kevent@FBSD_1.0), appending
// ext[4]. uvts stores the fd in ident and reads nothing from udata.
//
//   offset | field              | size
//   -------+--------------------+-----
//   0      | uintptr_t ident    | 8
//   8      | int16 filter       | 2
//   10     | uint16 flags       | 2
//   12     | uint32 fflags      | 4
//   16     | intptr_t data      | 8
//   24     | void *udata        | 8
//   32     | uint64 ext[4]      | 32, FreeBSD 12+ only
const FREEBSD_64 = process.platform === 'freebsd' && Number(release().split('.')[0]) >= 12;
export const KEVENT = {
  size: FREEBSD_64 ? 64 : 32,
  ident: 0,
  filter: 8,
  flags: 10,
  fflags: 12,
  data: 16,
  udata: 24,
} as const;

// struct timespec on LP64: i64 tv_sec, i64 tv_nsec.
export const KEVENT_TIMESPEC = { size: 16, sec: 0, nsec: 8 } as const;

// Filters and flags: <sys/event.h> has the same values on macOS, FreeBSD and libkqueue, but
// EVFILT_USER (-10 on macOS, -11 on FreeBSD and libkqueue) and EVFILT_EXCEPT, which only macOS
// has among these with NOTE_OOB (libuv watches UV__POLLPRI with it there).
export const EVFILT_READ = -1;
export const EVFILT_WRITE = -2;
export const EVFILT_USER = process.platform === 'darwin' ? -10 : -11;
/** 0 where the platform has no EVFILT_EXCEPT: prioritized data cannot be watched there. */
export const EVFILT_EXCEPT = process.platform === 'darwin' ? -15 : 0;
export const NOTE_OOB = 0x0002;
export const EV_ADD = 0x0001;
export const EV_DELETE = 0x0002;
export const EV_CLEAR = 0x0020;
export const EV_RECEIPT = 0x0040;
export const EV_ERROR = 0x4000;
export const EV_EOF = 0x8000;
export const NOTE_TRIGGER = 0x01000000;

/**
 * Where kevent comes from: `UVTS_KQUEUE_LIB` when set (libkqueue on Linux), else libc on macOS
 * and FreeBSD. An Error, saying so, where neither applies.
 */
export function keventLibrary(): string | Error {
  const path = process.env.UVTS_KQUEUE_LIB;
  if (path !== undefined && path !== '') {
    if (path.includes('\0')) return new Error('UVTS_KQUEUE_LIB contains a NUL byte');
    return path;
  }
  if (process.platform === 'darwin' || process.platform === 'freebsd') return LIBRARY_NAMES[0] as string;
  return new Error(`${process.platform} has no kqueue; set UVTS_KQUEUE_LIB to a kqueue library (libkqueue) to use one`);
}

let loaded: Kevent | Error | undefined;

/** kqueue and kevent bound on this thread through the chosen driver, or why they cannot be. */
export function tryKevent(): Kevent | Error {
  if (loaded !== undefined) return loaded;
  const path = keventLibrary();
  if (path instanceof Error) return (loaded = path);
  const libc = tryLibc();
  if (libc instanceof Error) return (loaded = libc);
  try {
    // A library other than libc is pinned first: libkqueue's background thread crashed about
    // one process in ten at exit when the library was unloaded under it (0 in 150 pinned).
    if (path !== LIBRARY_NAMES[0] && libc.dlopen(Buffer.from(`${path}\0`), RTLD_NOW | RTLD_NODELETE) === 0) {
      throw new Error(`dlopen could not open ${path}`);
    }
    loaded = bindTable(KEVENT_FUNCTIONS, [path], 'uvts:kqueue');
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    loaded = new Error(`kevent could not be bound from ${path} (${why})`, { cause: err });
  }
  return loaded;
}
