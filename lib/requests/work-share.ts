import {
  BroadcastChannel,
  getEnvironmentData,
  parentPort,
  receiveMessageOnPort,
  setEnvironmentData,
  threadId,
  workerData,
  type MessagePort,
  type Worker,
} from 'node:worker_threads';
import { allocForever, heap, heapReaches, isHeapRoot } from '../shared-heap.js';
import { poolRunning, supervisorThread } from '../threadpool/pool.js';
import { MAX_SIZE } from '../threadpool/size.js';

// The SharedArrayBuffers of a queueWork request, carried between threads by message (the heap
// carries bytes, not buffers): the arguments' to the one pool thread that runs the request, the
// result's back to the loop's thread. work-codec.ts names them by index in the bytes. The
// supervisor (workers/supervisor.ts), whose event loop is always free, relays both ways, and
// no thread keeps a buffer after its request: the old registry, which every pool thread heard
// and kept, held 40 SharedArrayBuffers of 25 MiB alive in idle threads.
//
// Two facts about Node's BroadcastChannel shape this (measured on Node 20.20):
// - it delivers only to instances that exist when a message is posted: a listener must be up
//   before anyone posts to it;
// - an instance receives every other instance's posts and holds them until its thread's event
//   loop turns, even once closed (a closed instance leaves the channel only then). A pool thread
//   serving work, or a loop thread inside run(), does not turn it: an instance there on a
//   channel that others post to holds their buffers (ten 64 MiB posts: +640 MiB, until a turn).
//   So every channel below has one poster and one listener.
//
// Arguments, loop -> supervisor -> pool thread:
// - the root thread posts to the supervisor's Worker, where messages wait while it starts;
// - any other thread T posts on "args:T", once the supervisor listens there: T's first sender
//   posts { hello: T, word } on HELLO (the instance it opens for that hears only other threads'
//   hellos, and is closed) and waits on that heap word, which the supervisor sets once it
//   listens on "args:T". If the supervisor is not up yet, T waits for it when the root has
//   already started it (it comes up on its own); else the request goes out UNSENT, and the pool
//   thread that takes it sends it back to its loop, which sends the buffers then and resubmits
//   (work-ops.ts);
// - the pool thread that takes the request posts { want: key } to the supervisor and waits on
//   its WANT word; the supervisor posts the buffers to that thread's Worker, forgets them and
//   sets the word; the pool thread reads them with receiveMessageOnPort;
// - a request cancelled, or whose thread died, before its buffers were taken has its entry
//   dropped by its loop, the same way it was sent, so after it (work.ts).
// Results, pool thread -> supervisor -> loop thread T:
// - the pool thread posts { thread: T, serial, shared } to the supervisor and waits on its
//   WANT word; the supervisor posts it on "results:T" and sets the word; only then does the pool
//   thread complete the request, so the loop finds the buffers when it reads the result. T
//   listens on "results:T" from its first queueWork.
// The supervisor keeps an instance on "args:T" and on "results:T" for each thread T that has
// used them (two small objects a thread; none holds a buffer).
//
// Costs, measured at 1 in flight (scratch script, medians of 5, this 2-core VM): a request with
// a SharedArrayBuffer argument 157-194 µs a round trip against 57-66 µs for a plain one
// (piscina: 90-112 µs either way): the relay adds a wake of the supervisor and one of the pool
// thread. Memory: no thread holds a reference once its request is over, but a dropped buffer's
// memory is freed only when every isolate that saw it has collected its wrapper, and an idle
// supervisor or pool thread may not collect for a long time (40 buffers of 25 MiB passed and
// dropped: RSS stays at 1.1 GiB, as with piscina's idle workers; all of it is reused once the
// supervisor and the pool threads have collected).
//
//   WORDS (a SharedArrayBuffer in environment data, made by the heap's root)
//   Int32 index | name   | meaning
//   ------------+--------+-----------------------------------------------------------------
//   0           | BROKER | 1 once the supervisor listens (HELLO, its parentPort)
//   1           | HELD   | argument lists whose buffers or want the supervisor holds (specs)
//   2 + i       | WANT   | pool thread i's futex: 0 waiting for the supervisor, 1 answered

const WORDS_KEY = 'uvts:work-share';
const BROKER = 0;
const HELD = 1;
const WANT = 2;
const HELLO = 'uvts:work-hello';
const ARGS = 'uvts:work-args:';
const RESULTS = 'uvts:work-results:';
/** How long a thread waits for a supervisor that is starting (50-300 ms here) or answering a hello. */
const WAIT_MS = 30_000;

const words: Int32Array = openWords();

function openWords(): Int32Array {
  const inherited: unknown = getEnvironmentData(WORDS_KEY);
  if (inherited instanceof SharedArrayBuffer) return new Int32Array(inherited);
  const sab = new SharedArrayBuffer((WANT + MAX_SIZE) * 4);
  // Made with the heap, before any Worker that shares it: they all inherit this.
  if (isHeapRoot) setEnvironmentData(WORDS_KEY, sab);
  return new Int32Array(sab);
}

/** A request's argument buffers, loop -> supervisor -> pool thread. */
interface ArgsMessage {
  key: string;
  shared: SharedArrayBuffer[];
}
/** Forget the argument buffers sent as `drop`, loop -> supervisor. */
interface DropMessage {
  drop: string;
}
/** Thread `hello` will post on "args:<hello>" once the supervisor sets heap word `word`. */
interface HelloMessage {
  hello: number;
  word: number;
}
/** A pool thread asks for its request's argument buffers. */
interface WantMessage {
  want: string;
}
/** A result's buffers, pool thread -> supervisor (with `thread`) -> the loop's thread. */
interface ResultMessage {
  thread: number;
  serial: number;
  shared: SharedArrayBuffer[];
}

/** What node:worker_threads' BroadcastChannel has but @types/node does not declare. */
interface Unref {
  unref(): void;
}

function unref(channel: BroadcastChannel): BroadcastChannel {
  (channel as unknown as Unref).unref();
  return channel;
}

/** Reads a channel's queued messages and drops them. */
function drain(channel: BroadcastChannel): void {
  while (receiveMessageOnPort(channel as unknown as MessagePort) !== undefined);
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

/** This thread's channel to the supervisor, once it listens there (not on the root). */
let args: BroadcastChannel | undefined;

/** Sends a request's argument buffers to the supervisor; returns how (UNSENT: not yet). */
export function sendShared(key: string, shared: SharedArrayBuffer[]): number {
  const message: ArgsMessage = { key, shared };
  const supervisor = supervisorThread();
  if (supervisor !== undefined) {
    supervisor.postMessage(message);
    return BY_WORKER;
  }
  if (args === undefined && !introduce()) return UNSENT;
  (args as BroadcastChannel).postMessage(message);
  return BY_CHANNEL;
}

/** Drops the supervisor's entry for buffers sent `route` that no pool thread took. */
export function dropShared(key: string, route: number): void {
  const message: DropMessage = { drop: key };
  if (route === BY_WORKER) supervisorThread()?.postMessage(message);
  else if (route === BY_CHANNEL) args?.postMessage(message);
}

/**
 * Has the supervisor listen on this thread's "args:T"; false if it is not up (and not coming
 * up on its own: the root has not started it). Waits for it otherwise, once per thread.
 */
function introduce(): boolean {
  if (Atomics.load(words, BROKER) === 0) {
    if (!poolRunning()) return false;
    if (!waitFor(words, BROKER)) return false;
  }
  const word = allocForever(1);
  if (word === 0) return false;
  heapReaches(word + 4);
  Atomics.store(heap.i32, word >> 2, 0);
  // This instance hears other threads' hellos (no buffers in them) until it is gone.
  const hello = new BroadcastChannel(HELLO);
  hello.postMessage({ hello: threadId, word } satisfies HelloMessage);
  const answered = waitFor(heap.i32, word >> 2);
  drain(hello);
  hello.close();
  if (!answered) return false;
  args = unref(new BroadcastChannel(ARGS + threadId));
  return true;
}

/** Waits up to WAIT_MS for word `index` of `i32` to leave 0; false if it has not. */
function waitFor(i32: Int32Array, index: number): boolean {
  const end = Date.now() + WAIT_MS;
  for (let left = WAIT_MS; Atomics.load(i32, index) === 0 && left > 0; left = end - Date.now())
    Atomics.wait(i32, index, 0, left);
  return Atomics.load(i32, index) !== 0;
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
  unref(results);
}

function keep(message: unknown): void {
  const { serial, shared } = message as ResultMessage;
  arrived.set(serial, shared);
}

/** The buffers a pool thread sent with the result of the request numbered `serial` on this thread. */
export function resultShared(serial: number): SharedArrayBuffer[] {
  let shared = arrived.get(serial);
  if (shared === undefined && results !== undefined) {
    const port = results as unknown as MessagePort;
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) keep(m.message);
    shared = arrived.get(serial);
  }
  // The supervisor posts them before the pool thread completes the request, and a post is queued at once.
  if (shared === undefined)
    throw new Error(`uvts: the shared buffers of work request ${serial}'s result never arrived`);
  arrived.delete(serial);
  return shared;
}

/** How many argument lists the supervisor holds buffers or a want for: 0 when nothing waits (specs). */
export function sharedHeld(): number {
  return Atomics.load(words, HELD);
}

// The pool thread's side.

/** Posts `message` to the supervisor and waits until it answers by setting this thread's WANT word. */
function askSupervisor(message: WantMessage | ResultMessage): void {
  const word = WANT + (workerData as { index: number }).index;
  Atomics.store(words, word, 0);
  (parentPort as MessagePort).postMessage(message);
  // A wake is not an answer: the notify of the previous answer can come late, after this wait
  // began (the supervisor stored 1, was preempted, and this thread has since moved on).
  while (Atomics.load(words, word) === 0) Atomics.wait(words, word, 0);
}

/** Asks the supervisor for the argument buffers sent as `key`, and waits for them. */
export function fetchShared(key: string): SharedArrayBuffer[] {
  askSupervisor({ want: key });
  // The supervisor posts before it sets the word, so the reply is already in the port, which
  // carries nothing else to a pool thread.
  const port = parentPort as MessagePort;
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    const reply = m.message as Partial<ArgsMessage>;
    if (reply.key === key && reply.shared !== undefined) return reply.shared;
  }
  throw new Error(
    "uvts: a work request's shared buffers were posted to this pool thread and taken by someone else (a 'message' listener on parentPort?)",
  );
}

/** Sends a result's buffers to the thread of the loop that submitted request `serial`; returns once they are there. */
export function sendResultShared(thread: number, serial: number, shared: SharedArrayBuffer[]): void {
  askSupervisor({ thread, serial, shared });
}

// The supervisor's side.

const entries = new Map<string, SharedArrayBuffer[]>();
/** Wants that came before their buffers: key -> the asking thread. */
const waiting = new Map<string, { worker: Worker; index: number }>();
/** The live pool thread at each index: an answer to a dead one must not touch its successor's word. */
const threads: (Worker | undefined)[] = [];
/** "args:T" listeners and "results:T" senders, by thread. */
const argsFrom = new Map<number, BroadcastChannel>();
const resultsTo = new Map<number, BroadcastChannel>();
let brokering = false;

/** The supervisor calls this for each pool thread it starts: serves its wants and results. */
export function serveShared(worker: Worker, index: number): void {
  if (!brokering) broker();
  threads[index] = worker;
  worker.on('message', (message: unknown) => {
    if (typeof message !== 'object' || message === null) return;
    if ('want' in message) wanted(worker, index, (message as WantMessage).want);
    else if ('serial' in message) relayResult(worker, index, message as ResultMessage);
  });
}

function broker(): void {
  brokering = true;
  const greeter = new BroadcastChannel(HELLO);
  greeter.onmessage = (event: MessageEvent) => greet(event.data as HelloMessage);
  unref(greeter);
  parentPort?.on('message', arrive);
  parentPort?.unref();
  Atomics.store(words, BROKER, 1);
  Atomics.notify(words, BROKER);
}

function greet({ hello: thread, word }: HelloMessage): void {
  if (!argsFrom.has(thread)) {
    const channel = new BroadcastChannel(ARGS + thread);
    channel.onmessage = (event: MessageEvent) => arrive(event.data as ArgsMessage | DropMessage);
    argsFrom.set(thread, unref(channel));
  }
  heapReaches(word + 4);
  Atomics.store(heap.i32, word >> 2, 1);
  Atomics.notify(heap.i32, word >> 2);
}

function arrive(message: ArgsMessage | DropMessage): void {
  if ('drop' in message) {
    entries.delete(message.drop);
    held();
    return;
  }
  const asker = waiting.get(message.key);
  if (asker === undefined) {
    entries.set(message.key, message.shared);
    held();
    return;
  }
  waiting.delete(message.key);
  held();
  deliver(asker.worker, asker.index, message);
}

function wanted(from: Worker, index: number, key: string): void {
  const shared = entries.get(key);
  if (shared === undefined) {
    waiting.set(key, { worker: from, index });
    held();
    return;
  }
  entries.delete(key);
  held();
  deliver(from, index, { key, shared });
}

/** Publishes HELD; before an answer, so that whoever the answer lets go sees it already. */
function held(): void {
  Atomics.store(words, HELD, entries.size + waiting.size);
}

function relayResult(from: Worker, index: number, message: ResultMessage): void {
  let channel = resultsTo.get(message.thread);
  if (channel === undefined)
    resultsTo.set(message.thread, (channel = unref(new BroadcastChannel(RESULTS + message.thread))));
  channel.postMessage(message);
  answer(from, index);
}

/** Posts the argument buffers to the pool thread that asked, then answers it. */
function deliver(to: Worker, index: number, message: ArgsMessage): void {
  to.postMessage(message);
  answer(to, index);
}

function answer(to: Worker, index: number): void {
  if (threads[index] !== to) return;
  Atomics.store(words, WANT + index, 1);
  Atomics.notify(words, WANT + index);
}
