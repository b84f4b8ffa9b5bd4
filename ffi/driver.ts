import { createRequire } from 'node:module';
import type { Bound, DriverName, Libc, Table } from './libc.js';
import { bindFfiRs, bindFfiRsTable, preloadFfiRs } from './ffi-rs.js';
import { bindKoffi, bindKoffiTable } from './koffi.js';
import { enterNative, isGuardRoot, leaveNative } from './exit-guard.js';

// Which driver binds the table: UVTS_FFI=koffi (the default) or UVTS_FFI=ffi-rs. Each thread
// binds its own copy on first use (a worker that wakes an epoll loop needs write()).

const DRIVERS: Record<DriverName, { bind: () => Libc; install: string }> = {
  koffi: { bind: bindKoffi, install: 'npm install koffi' },
  'ffi-rs': { bind: bindFfiRs, install: 'npm install ffi-rs' },
};

let loaded: Libc | Error | undefined;

// Under ffi-rs the first thread to load uvts loads the addon first (ffi-rs.ts, preloadFfiRs).
if (isGuardRoot && process.env.UVTS_FFI === 'ffi-rs') preloadFfiRs();

/** Binds `driver` inside the exit guard (exit-guard.ts), unless the process has begun to exit. */
function bindGuarded<B>(name: DriverName, bind: () => B): B {
  if (!enterNative()) throw new Error(`the process is exiting; ${name} was not loaded`);
  try {
    return bind();
  } finally {
    leaveNative();
  }
}

/** The driver named by UVTS_FFI; anything else is a configuration error, reported as such. */
export function driverName(): DriverName {
  const value = process.env.UVTS_FFI;
  if (value === undefined || value === '') return 'koffi';
  if (value === 'koffi' || value === 'ffi-rs') return value;
  throw new TypeError(`UVTS_FFI must be 'koffi' or 'ffi-rs', got ${JSON.stringify(value)}`);
}

/** libc bound through the chosen driver, or the Error that says why it cannot be. */
export function tryLibc(): Libc | Error {
  if (loaded === undefined) {
    const name = driverName();
    const driver = DRIVERS[name];
    try {
      loaded = bindGuarded(name, driver.bind);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      loaded = new Error(
        `the FFI driver '${name}' could not load (${why.split('\n')[0]}); ` +
          `install it with \`${driver.install}\`, or choose the other driver with UVTS_FFI`,
        { cause: err },
      );
    }
  }
  return loaded;
}

/**
 * Binds another library's `table` through the driver libc uses, from the first of `paths`
 * that loads (`key` names it in ffi-rs's process-wide table). Errors are its callers' to word.
 */
export function bindTable<T extends Table>(table: T, paths: readonly string[], key: string): Bound<T> {
  const name = driverName();
  return bindGuarded(name, () => (name === 'koffi' ? bindKoffiTable(table, paths) : bindFfiRsTable(table, paths, key)));
}

let addresser: ((view: ArrayBufferView) => number) | Error | undefined;

/**
 * How to take a view's address for a `ptr` parameter: libc's driver where libc loads, and on
 * Windows, which has no libc for uvts, koffi's (the one driver that binds kernel32 there).
 * The Error says why neither can be had.
 */
export function tryAddressOf(): ((view: ArrayBufferView) => number) | Error {
  if (addresser !== undefined) return addresser;
  const libc = tryLibc();
  if (!(libc instanceof Error)) return (addresser = libc.addressOf);
  if (process.platform !== 'win32' || driverName() !== 'koffi') return (addresser = libc);
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    addresser = (view: ArrayBufferView): number => {
      void view.buffer; // materializes a small on-heap typed array, so its address stays put
      return Number(koffi.address(view));
    };
  } catch (err) {
    addresser = err instanceof Error ? err : new Error(String(err));
  }
  return addresser;
}
