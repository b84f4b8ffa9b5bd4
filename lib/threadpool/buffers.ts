import { BroadcastChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { sharedHeap } from './heap.js';
import { BUFFER_IDS, control } from './pool.js';

// SharedArrayBuffers the user reads into or writes from, known to pool threads by an id, so
// fs.read and fs.write on them copy nothing. A buffer is announced once, on a broadcast
// channel every pool thread listens to; a pool thread reads announcements synchronously when
// it meets an id it does not know. One that was not listening yet when the buffer was
// announced says so in the slot, and the loop announces the buffer again and resubmits.

const CHANNEL = 'uvts:buffers';

interface Announcement {
  id: number;
  /** null once the submitting thread has dropped the buffer. */
  sab: SharedArrayBuffer | null;
}

let channel: BroadcastChannel | undefined;
const ids = new WeakMap<SharedArrayBuffer, number>();
const dropped = new FinalizationRegistry<number>((id) => announce({ id, sab: null }));

function announce(message: Announcement): void {
  if (channel === undefined) {
    channel = new BroadcastChannel(CHANNEL);
    channel.unref();
  }
  channel.postMessage(message);
}

/** The id of `sab`, announced to the pool threads the first time. */
export function bufferId(sab: SharedArrayBuffer): number {
  let id = ids.get(sab);
  if (id === undefined) {
    id = Atomics.add(sharedHeap().i32, control() + BUFFER_IDS, 1) + 1;
    ids.set(sab, id);
    dropped.register(sab, id);
    announce({ id, sab });
  }
  return id;
}

/** Announces `sab` again, for pool threads that started listening after it was first announced. */
export function reannounce(sab: SharedArrayBuffer): void {
  const id = ids.get(sab);
  if (id !== undefined) announce({ id, sab });
}

// The pool thread's side.

const known = new Map<number, SharedArrayBuffer>();
let listener: BroadcastChannel | undefined;

/** Called when a pool thread starts: from then on it hears every announcement. */
export function listenForBuffers(): void {
  listener = new BroadcastChannel(CHANNEL);
  listener.unref();
}

/** The buffer announced as `id`, or undefined if this thread never heard of it. */
export function knownBuffer(id: number): SharedArrayBuffer | undefined {
  let sab = known.get(id);
  if (sab !== undefined || listener === undefined) return sab;
  // receiveMessageOnPort takes a BroadcastChannel as well as a MessagePort (both wrap a port).
  const port = listener as unknown as MessagePort;
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    const { id: heard, sab: buffer } = m.message as Announcement;
    if (buffer === null) known.delete(heard);
    else known.set(heard, buffer);
  }
  return known.get(id);
}
