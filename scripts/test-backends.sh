#!/bin/sh
# The suite again on the other backends this machine can drive (npm test runs it after the
# main runs, which use the platform's own backend: epoll on Linux).
#  - futex: every spec that watches no fd (timers, watchers, Async, the pool), under koffi.
#  - kqueue: the whole suite, under both FFI drivers. On Linux the kqueue library is the one
#    UVTS_KQUEUE_LIB names (libkqueue; CI points it at its own build); on macOS and FreeBSD
#    the main runs were on kqueue already.
set -e
UVTS_BACKEND=futex UVTS_FFI=koffi npx ava \
  spec/async.spec.ts spec/exceptions.spec.ts spec/faults.spec.ts spec/fs.spec.ts spec/fs-libc.spec.ts \
  spec/handle.spec.ts spec/heap.spec.ts spec/loop.spec.ts spec/metrics.spec.ts spec/node-reference.spec.ts \
  spec/pending.spec.ts spec/threadpool.spec.ts spec/timer.spec.ts spec/watcher.spec.ts spec/work.spec.ts

if [ "$(uname)" != Linux ]; then
  echo "kqueue suite: not run again, the main runs used this platform's kqueue"
  exit 0
fi
if [ -z "${UVTS_KQUEUE_LIB:-}" ]; then
  echo "kqueue suite SKIPPED: UVTS_KQUEUE_LIB is not set; point it at a libkqueue build (libkqueue.so.0) to run it"
  exit 0
fi
UVTS_BACKEND=kqueue UVTS_FFI=koffi npx ava
UVTS_BACKEND=kqueue UVTS_FFI=ffi-rs npx ava
