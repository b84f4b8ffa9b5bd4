import { getEnvironmentData, setEnvironmentData } from 'node:worker_threads';

// Native code that must not be cut short by the end of the process. When the process exits,
// Node terminates every worker thread, and a worker terminated inside some native code aborts
// the whole process:
// - koffi's addon initialization ("FATAL ERROR: Error::ThrowAsJavaScriptException napi_throw"):
//   a program that made one fs.stat and returned aborted 12 times in 30 while pool threads were
//   still binding. A thread terminated inside an ordinary call through koffi is fine (100 of 100).
// - any call through ffi-rs, which reads its arguments through N-API and panics when a read
//   fails because the thread is terminating ("Failed to get property names of given object"):
//   1 run of the suite in 5 aborted that way.
// So the threads of the process count themselves in while inside such code, and the thread that
// made the count waits at exit, before Node terminates anyone, until none is; code that would
// start after that is refused, with an error the caller reports like any other.
//
//   Int32 index | name      | meaning
//   ------------+-----------+---------------------------------------------------------------
//   0           | IN_NATIVE | threads inside guarded native code now
//   1           | EXITING   | 1 once the process has begun to exit: nothing guarded starts after it
const IN_NATIVE = 0;
const EXITING = 1;
const KEY = 'uvts:exit-guard';
/** The longest the exit waits: guarded code takes microseconds to milliseconds, a hang must not become the exit's. */
const EXIT_WAIT_MS = 5000;

/** Whether this thread made the guard: the first to load uvts, the ancestor of every other that does. */
export let isGuardRoot = false;

const words: Int32Array = (() => {
  const inherited: unknown = getEnvironmentData(KEY);
  if (inherited instanceof SharedArrayBuffer) return new Int32Array(inherited);
  // Workers made after this inherit it through environment data.
  const made = new Int32Array(new SharedArrayBuffer(8));
  setEnvironmentData(KEY, made.buffer);
  isGuardRoot = true;
  process.once('exit', () => {
    Atomics.store(made, EXITING, 1);
    const end = Date.now() + EXIT_WAIT_MS;
    for (let n = Atomics.load(made, IN_NATIVE); n !== 0 && Date.now() < end; n = Atomics.load(made, IN_NATIVE)) {
      Atomics.wait(made, IN_NATIVE, n, 10);
    }
  });
  return made;
})();

/** Counts this thread in; false (counting nothing) once the process has begun to exit. */
export function enterNative(): boolean {
  Atomics.add(words, IN_NATIVE, 1);
  // Read after counting ourselves in: the exiting thread sets EXITING before it reads IN_NATIVE.
  if (Atomics.load(words, EXITING) === 0) return true;
  leaveNative();
  return false;
}

export function leaveNative(): void {
  if (Atomics.sub(words, IN_NATIVE, 1) === 1) Atomics.notify(words, IN_NATIVE);
}
