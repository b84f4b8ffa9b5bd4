import type { DriverName, Libc } from './libc.js';
import { bindFfiRs } from './ffi-rs.js';
import { bindKoffi } from './koffi.js';

// Which driver binds the table: UVTS_FFI=koffi (the default) or UVTS_FFI=ffi-rs. Each thread
// binds its own copy on first use (a worker that wakes an epoll loop needs write()).

const DRIVERS: Record<DriverName, { bind: () => Libc; install: string }> = {
  koffi: { bind: bindKoffi, install: 'npm install koffi' },
  'ffi-rs': { bind: bindFfiRs, install: 'npm install ffi-rs' },
};

let loaded: Libc | Error | undefined;

/** The driver named by UVTS_FFI; anything else is a configuration error, reported as such. */
export function driverName(): DriverName {
  const value = process.env['UVTS_FFI'];
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
      loaded = driver.bind();
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      loaded = new Error(`the FFI driver '${name}' could not load (${why.split('\n')[0]}); ` +
        `install it with \`${driver.install}\`, or choose the other driver with UVTS_FFI`, { cause: err });
    }
  }
  return loaded;
}
