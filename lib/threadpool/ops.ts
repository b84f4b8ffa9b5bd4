// The operations a pool thread runs, numbered for a slot's OP word (slot.ts). Both sides read
// this one list: the loop to encode a request, workers/ to run it. `slow` marks libuv's slow
// work, which holds at most ceil(size / 2) threads (src/threadpool.c, slow_io_work_running).

export const OPS = [
  // fs, each named after the syscall its errors report
  { name: 'stat', slow: false },
  { name: 'lstat', slow: false },
  { name: 'fstat', slow: false },
  { name: 'open', slow: false },
  { name: 'close', slow: false },
  { name: 'read', slow: false },
  { name: 'write', slow: false },
  { name: 'readFile', slow: false },
  { name: 'writeFile', slow: false },
  { name: 'unlink', slow: false },
  { name: 'rmdir', slow: false },
  { name: 'fsync', slow: false },
  { name: 'fdatasync', slow: false },
  { name: 'mkdir', slow: false },
  { name: 'mkdtemp', slow: false },
  { name: 'readdir', slow: false },
  { name: 'rename', slow: false },
  { name: 'copyfile', slow: false },
  { name: 'ftruncate', slow: false },
  { name: 'access', slow: false },
  { name: 'chmod', slow: false },
  { name: 'utime', slow: false },
  { name: 'link', slow: false },
  { name: 'symlink', slow: false },
  { name: 'readlink', slow: false },
  { name: 'realpath', slow: false },
  // dns and user work: slow
  { name: 'getaddrinfo', slow: true },
  { name: 'getnameinfo', slow: true },
  { name: 'work', slow: true },
] as const;

export type OpName = (typeof OPS)[number]['name'];

/** The OP word for `name`. */
export const OP_CODE: Readonly<Record<OpName, number>> = Object.fromEntries(OPS.map((op, i) => [op.name, i])) as Record<OpName, number>;
