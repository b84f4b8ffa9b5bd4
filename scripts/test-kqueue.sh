#!/bin/sh
# The whole suite again on the kqueue backend, under both FFI drivers. On Linux the kqueue
# library is the one UVTS_KQUEUE_LIB names (libkqueue; CI points it at its own build); on macOS
# and FreeBSD the main runs were on kqueue already.
set -e
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
