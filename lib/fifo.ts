/** What a Fifo holds: a request linked to the next through its own field, so no node is allocated. */
export interface Linked<T> {
  next: T | null;
}

/**
 * A FIFO of requests linked through `next` (libuv's write_queue and udp send queue): a stream's
 * writes and a Udp handle's sends.
 */
export class Fifo<T extends Linked<T>> {
  head: T | null = null;
  tail: T | null = null;

  push(req: T): void {
    if (this.tail === null) this.head = req;
    else this.tail.next = req;
    this.tail = req;
  }

  shift(): T | null {
    const req = this.head;
    if (req === null) return null;
    this.head = req.next;
    if (this.head === null) this.tail = null;
    req.next = null;
    return req;
  }

  /** Empties the queue and returns its chain. */
  takeAll(): T | null {
    const head = this.head;
    this.head = this.tail = null;
    return head;
  }

  /** Puts a chain taken by takeAll() back in front of what was queued since. */
  prepend(chain: T): void {
    let last = chain;
    while (last.next !== null) last = last.next;
    last.next = this.head;
    if (this.head === null) this.tail = last;
    this.head = chain;
  }
}
