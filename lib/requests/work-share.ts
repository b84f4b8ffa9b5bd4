import {
  BroadcastChannel, getEnvironmentData, parentPort, receiveMessageOnPort, setEnvironmentData, threadId, workerData,
  type MessagePort, type Worker,
} from 'node:worker_threads';
import { isHeapRoot } from '../threadpool/heap.js';
import { MAX_SIZE, poolRunning, supervisorThread } from '../threadpool/pool.js';

// The SharedArrayBuffers of a queueWork request, carried between threads by message (the heap
// can carry bytes, not buffers): the arguments' to the one pool thread that runs the request,
// the result's back to the loop's thread. work-codec.ts names them by index in the bytes.
//
// No thread keeps one after its request: the old registry, which every pool thread heard and
// kept, held 40 SharedArrayBuffers of 25 MiB alive in idle threads. So:
//
// - Arguments go to the supervisor (workers/supervisor.ts), whose event loop is always free:
//   the root thread posts to the supervisor's Worker (messages wait there while it starts);
//   any other thread on the ARGS BroadcastChannel, which only the supervisor listens to, once
//   the supervisor has said it listens (BROKER; a BroadcastChannel drops what is posted before
//   a listener exists). Keyed "<threadId>:<serial>".
// - The pool thread that takes the request posts { want: key } to the supervisor and waits on
//   its word in WORDS; the supervisor posts the buffers to that thread's Worker, drops its
//   entry, and notifies the word; the pool thread reads them with receiveMessageOnPort.
// - A request cancelled (or whose thread died) before its buffers were taken has its entry
//   dropped by its loop, on the same route, so after it (work.ts).
// - A result's buffers go on a BroadcastChannel named for the loop's thread, which that thread
//   listens to from its first queueWork; the loop reads them at the completion, synchronously.
//
// A BroadcastChannel instance receives every other instance's posts until it is closed, and a
// thread whose event loop does not turn (a pool thread parked, a loop thread inside run())
// would hold them: so a thread that only sends opens one, posts and closes it.
//
// A thread other than the root that sends before the supervisor listens waits for it if it is
// already starting (it comes up without anyone's help); if the root has not started it yet,
// the request goes out UNSENT and the pool thread that takes it sends it back to its loop,
// which posts the buffers then (the supervisor is up by then) and resubmits (work-ops.ts).
//
//   WORDS (a SharedArrayBuffer in environment data, made by the heap's root)
//   Int32 index | name  | meaning
//   ------------+-------+-----------------------------------------------------------------
//   0           | BROKER| 1 once the supervisor listens on ARGS
//   1           | HELD  | the supervisor's entries and waiting wants (for specs: 0 when idle)
//   2 + i       | WANT  | pool thread i's futex: 0 waiting, 1 its buffers have been posted to it

const WORDS_KEY = 'uvts:work-share';
const BROKER = 0;
const HELD = 1;
const WANT = 2;
const ARGS = 'uvts:work-args';
const RESULTS = 'uvts:work-results:';
/** How long a thread waits for a supervisor that is starting (it takes 50-300 ms here). */
const START_WAIT_MS = 30_000;

const words: Int32Array = openWords();

function openWords(): Int32Array {
  const inherited: unknown = getEnvironmentData(WORDS_KEY);
  if (inherited instanceof SharedArrayBuffer) return new Int32Array(inherited);
  const sab = new SharedArrayBuffer((WANT + MAX_SIZE) * 4);
  // Made with the heap, before any Worker that shares it: they all inherit this.
  if (isHeapRoot) setEnvironmentData(WORDS_KEY, sab);
  return new Int32Array(sab);
}

/** Arguments' buffers, to the supervisor; or { drop: key }. */
interface ArgsMessage {
  key: string;
  shared: SharedArrayBuffer[];
}
interface DropMessage {
  drop: string;
}
/** A pool thread's request for its arguments' buffers, to the supervisor. */
interface WantMessage {
  want: string;
}
/** A result's buffers, to the loop's thread. */
interface ResultMessage {
  serial: number;
  shared: SharedArrayBuffer[];
}

/** What node:worker_threads' BroadcastChannel has but @types/node does not declare. */
interface Unref {
  unref(): void;
}

/** How a request's argument buffers went: its drop must go the same way, to arrive after them. */
export const UNSENT = 0;
export const BY_WORKER = 1;
export const BY_CHANNEL = 2;

/** The key of a request's argument buffers: unique in the process while it is in flight. */
export function sharedKey(serial: number, thread: number = threadId): string {
  return `${thread}:${serial}`;
}

// The loop's side.

/** Sends a request's argument buffers to the supervisor; returns how (UNSENT: not yet). */
export function sendShared(key: string, shared: SharedArrayBuffer[]): number {
  return post({ key, shared });
}

/** Drops the supervisor's entry for buffers sent `route` that no pool thread took. */
export function dropShared(key: string, route: number): void {
  if (route !== UNSENT) post({ drop: key }, route);
}

function post(message: ArgsMessage | DropMessage, route = -1): number {
  const supervisor = supervisorThread();
  if (supervisor !== undefined && route !== BY_CHANNEL) {
    supervisor.postMessage(message);
    return BY_WORKER;
  }
  if (route === -1 && Atomics.load(words, BROKER) === 0) {
    if (!poolRunning()) return UNSENT;
    Atomics.wait(words, BROKER, 0, START_WAIT_MS);
    if (Atomics.load(words, BROKER) === 0) return UNSENT;
  }
  const channel = new BroadcastChannel(ARGS);
  channel.postMessage(message);
  channel.close();
  return BY_CHANNEL;
}

let results: BroadcastChannel | undefined;
/** Result buffers that Node's event loop delivered before the completion asked for them. */
const arrived = new Map<number, SharedArrayBuffer[]>();

/** Listens for this thread's result buffers: before its first request, so none is posted unheard. */
export function listenForResults(): void {
  if (results !== undefined) return;
  results = new BroadcastChannel(RESULTS + threadId);
  // Without a listener, Node drops a BroadcastChannel's messages when its event loop turns.
  results.onmessage = (event: MessageEvent) => keep(event.data);
  (results as unknown as Unref).unref();
}

function keep(message: unknown): void {
  const { serial, shared } = message as ResultMessage;
  arrived.set(serial, shared);
}

/** The buffers a pool thread posted with the result of the request numbered `serial` on this thread. */
export function resultShared(serial: number): SharedArrayBuffer[] {
  let shared = arrived.get(serial);
  if (shared === undefined && results !== undefined) {
    const port = results as unknown as MessagePort;
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) keep(m.message);
    shared = arrived.get(serial);
  }
  // The pool thread posts them before it completes the request, and a post is delivered at once.
  if (shared === undefined) throw new Error(`uvts: the shared buffers of work request ${serial}'s result never arrived`);
  arrived.delete(serial);
  return shared;
}

/** How many argument lists the supervisor holds buffers or a want for: 0 when nothing waits (specs). */
export function sharedHeld(): number {
  return Atomics.load(words, HELD);
}

// The pool thread's side.

/** Asks the supervisor for the argument buffers sent as `key`, and waits for them. */
export function fetchShared(key: string): SharedArrayBuffer[] {
  const port = parentPort as MessagePort;
  const word = WANT + (workerData as { index: number }).index;
  Atomics.store(words, word, 0);
  port.postMessage({ want: key } satisfies WantMessage);
  Atomics.wait(words, word, 0);
  // The supervisor posts before it notifies, so the reply is already in the port. This port
  // carries nothing else to a pool thread.
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    const reply = m.message as Partial<ArgsMessage>;
    if (reply.key === key && reply.shared !== undefined) return reply.shared;
  }
  throw new Error("uvts: a work request's shared buffers were posted to this pool thread and taken by someone else (a 'message' listener on parentPort?)");
}

/** Posts a result's buffers to the thread of the loop that submitted the request numbered `serial`. */
export function postResultShared(thread: number, serial: number, shared: SharedArrayBuffer[]): void {
  const channel = new BroadcastChannel(RESULTS + thread);
  channel.postMessage({ serial, shared } satisfies ResultMessage);
  channel.close();
}

// The supervisor's side.

const entries = new Map<string, SharedArrayBuffer[]>();
/** Wants that came before their buffers: key -> the asking thread. */
const waiting = new Map<string, { worker: Worker; index: number }>();
/** The live pool thread at each index: a reply to a dead one must not touch its successor's word. */
const threads: (Worker | undefined)[] = [];
let brokering = false;

/** The supervisor calls this for each pool thread it starts: serves its wants. */
export function serveShared(worker: Worker, index: number): void {
  if (!brokering) broker();
  threads[index] = worker;
  worker.on('message', (message: unknown) => {
    const want = (message as Partial<WantMessage> | null)?.want;
    if (typeof want === 'string') wanted(worker, index, want);
  });
}

function broker(): void {
  brokering = true;
  const channel = new BroadcastChannel(ARGS);
  channel.onmessage = (event: MessageEvent) => arrive(event.data as ArgsMessage | DropMessage);
  (channel as unknown as Unref).unref();
  parentPort?.on('message', arrive);
  parentPort?.unref();
  Atomics.store(words, BROKER, 1);
  Atomics.notify(words, BROKER);
}

function arrive(message: ArgsMessage | DropMessage): void {
  if ('drop' in message) {
    entries.delete(message.drop);
  } else {
    const asker = waiting.get(message.key);
    if (asker === undefined) {
      entries.set(message.key, message.shared);
    } else {
      waiting.delete(message.key);
      give(asker.worker, asker.index, message.key, message.shared);
    }
  }
  Atomics.store(words, HELD, entries.size + waiting.size);
}

function wanted(worker: Worker, index: number, key: string): void {
  const shared = entries.get(key);
  if (shared === undefined) {
    waiting.set(key, { worker, index });
  } else {
    entries.delete(key);
    give(worker, index, key, shared);
  }
  Atomics.store(words, HELD, entries.size + waiting.size);
}

function give(worker: Worker, index: number, key: string, shared: SharedArrayBuffer[]): void {
  worker.postMessage({ key, shared } satisfies ArgsMessage);
  if (threads[index] !== worker) return;
  Atomics.store(words, WANT + index, 1);
  Atomics.notify(words, WANT + index);
}
