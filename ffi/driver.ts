import { getEnvironmentData, setEnvironmentData } from 'node:worker_threads';
import type { DriverName, Libc } from './libc.js';
import { bindFfiRs, preloadFfiRs } from './ffi-rs.js';
import { bindKoffi } from './koffi.js';

// Which driver binds the table: UVTS_FFI=koffi (the default) or UVTS_FFI=ffi-rs. Each thread
// binds its own copy on first use (a worker that wakes an epoll loop needs write()).

const DRIVERS: Record<DriverName, { bind: () => Libc; install: string }> = {
  koffi: { bind: bindKoffi, install: 'npm install koffi' },
  'ffi-rs': { bind: bindFfiRs, install: 'npm install ffi-rs' },
};

let loaded: Libc | Error | undefined;

// Loading a driver is not safe against the end of the process. When the process exits, Node
// terminates every worker thread, and a worker terminated inside koffi's addon initialization
// aborts the whole process ("FATAL ERROR: Error::ThrowAsJavaScriptException napi_throw"): a
// program that made one fs.stat and returned aborted 12 times in 30 while pool threads were
// still starting. (A thread terminated inside an ordinary call through koffi is fine: 100 of
// 100.) So the threads of the process count their binds in shared memory, and the thread that
// made the count waits at exit, before Node terminates anyone, for binds under way to finish;
// binds that would start after that are refused.
//
//   Int32 index | name    | meaning
//   ------------+---------+---------------------------------------------------------------
//   0           | BINDING | threads inside a driver's bind now
//   1           | EXITING | 1 once the process has begun to exit: no bind starts after it
const BINDING = 0;
const EXITING = 1;
const KEY = 'uvts:ffi-binding';
/** The longest the exit waits for binds under way: they take milliseconds, a hang must not become the exit's. */
const EXIT_WAIT_MS = 5000;

const binds: Int32Array = (() => {
  const inherited: unknown = getEnvironmentData(KEY);
  if (inherited instanceof SharedArrayBuffer) return new Int32Array(inherited);
  // The first thread to load uvts (the heap's root too): Workers made after it inherit this.
  const words = new Int32Array(new SharedArrayBuffer(8));
  setEnvironmentData(KEY, words.buffer);
  if (process.env['UVTS_FFI'] === 'ffi-rs') preloadFfiRs();
  process.once('exit', () => {
    Atomics.store(words, EXITING, 1);
    const end = Date.now() + EXIT_WAIT_MS;
    for (let n = Atomics.load(words, BINDING); n !== 0 && Date.now() < end; n = Atomics.load(words, BINDING)) {
      Atomics.wait(words, BINDING, n, 10);
    }
  });
  return words;
})();

/** Binds `driver`, counted in BINDING, unless the process has begun to exit. */
function bindCounted(name: DriverName, bind: () => Libc): Libc {
  Atomics.add(binds, BINDING, 1);
  try {
    // Read after counting ourselves in: the exiting thread sets EXITING before it reads BINDING.
    if (Atomics.load(binds, EXITING) !== 0) throw new Error(`the process is exiting; ${name} was not loaded`);
    return bind();
  } finally {
    if (Atomics.sub(binds, BINDING, 1) === 1) Atomics.notify(binds, BINDING);
  }
}

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
      loaded = bindCounted(name, driver.bind);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      loaded = new Error(`the FFI driver '${name}' could not load (${why.split('\n')[0]}); ` +
        `install it with \`${driver.install}\`, or choose the other driver with UVTS_FFI`, { cause: err });
    }
  }
  return loaded;
}
