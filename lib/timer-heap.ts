// The loop's timers in a binary min-heap keyed by (due, start id), as libuv's timer_less_than:
// equal due times fire in the order the timers were started.
//
// The heap keeps its keys in typed arrays rather than on the timers, so sifting reads and
// writes a few contiguous arrays and touches no timer object: with a million timers, chasing
// objects scattered across the JS heap cost most of the timer phase. Each timer in the heap
// owns a slot, a small integer that stays fixed while its heap position moves.
//
//   array   | indexed by    | holds
//   --------+---------------+------------------------------------------------------
//   due     | heap position | the due time (ms) of the timer there
//   order   | heap position | its start id, which breaks ties between equal due times
//   slotAt  | heap position | its slot
//   posOf   | slot          | its heap position, so remove() needs no search
//   entries | slot          | the timer itself (a plain array: it holds objects)
//   free    | stack         | slots not in use, top at freeTop - 1

/** (d1, o1) sorts before (d2, o2). */
function before(d1: number, o1: number, d2: number, o2: number): boolean {
  return d1 < d2 || (d1 === d2 && o1 < o2);
}

export interface HeapEntry {
  /** The entry's slot while it is in the heap, -1 otherwise. */
  /** @internal */ heapSlot: number;
}

export class TimerHeap<T extends HeapEntry> {
  private due = new Float64Array(64);
  private order = new Float64Array(64);
  private slotAt = new Int32Array(64);
  private posOf = new Int32Array(64);
  private free = new Int32Array(64);
  private readonly entries: (T | undefined)[] = [];
  private n = 0;
  private freeTop = 0;
  private slotsMade = 0;

  get size(): number {
    return this.n;
  }

  /** The earliest entry, or undefined when the heap is empty. */
  min(): T | undefined {
    return this.n === 0 ? undefined : this.entries[this.slotAt[0]!];
  }

  /** Due time of the earliest entry; only meaningful when size > 0. */
  minDue(): number {
    return this.due[0]!;
  }

  /** Start id of the earliest entry; only meaningful when size > 0. */
  minOrder(): number {
    return this.order[0]!;
  }

  /** The due time of an entry in the heap. */
  dueOf(entry: T): number {
    return this.due[this.posOf[entry.heapSlot]!]!;
  }

  insert(entry: T, due: number, order: number): void {
    if (this.n === this.due.length) this.grow();
    let slot: number;
    if (this.freeTop > 0) slot = this.free[--this.freeTop]!;
    else slot = this.slotsMade++;
    this.entries[slot] = entry;
    entry.heapSlot = slot;
    this.siftUp(this.n++, due, order, slot);
  }

  remove(entry: T): void {
    const slot = entry.heapSlot;
    const i = this.posOf[slot]!;
    entry.heapSlot = -1;
    this.entries[slot] = undefined;
    this.free[this.freeTop++] = slot;
    const last = --this.n;
    if (i === last) return;
    // Fill the hole with the last entry; it may belong above or below it.
    const due = this.due[last]!;
    const order = this.order[last]!;
    const moved = this.slotAt[last]!;
    const parent = (i - 1) >> 1;
    if (i > 0 && before(due, order, this.due[parent]!, this.order[parent]!)) this.siftUp(i, due, order, moved);
    else this.siftDown(i, due, order, moved);
  }

  /** Places (due, order, slot) at or above position i. */
  private siftUp(i: number, due: number, order: number, slot: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pd = this.due[parent]!;
      const po = this.order[parent]!;
      if (!before(due, order, pd, po)) break;
      this.put(i, pd, po, this.slotAt[parent]!);
      i = parent;
    }
    this.put(i, due, order, slot);
  }

  /** Places (due, order, slot) at or below position i. */
  private siftDown(i: number, due: number, order: number, slot: number): void {
    const n = this.n;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      let cd = this.due[child]!;
      let co = this.order[child]!;
      const right = child + 1;
      if (right < n) {
        const rd = this.due[right]!;
        const ro = this.order[right]!;
        if (before(rd, ro, cd, co)) {
          child = right;
          cd = rd;
          co = ro;
        }
      }
      if (!before(cd, co, due, order)) break;
      this.put(i, cd, co, this.slotAt[child]!);
      i = child;
    }
    this.put(i, due, order, slot);
  }

  private put(i: number, due: number, order: number, slot: number): void {
    this.due[i] = due;
    this.order[i] = order;
    this.slotAt[i] = slot;
    this.posOf[slot] = i;
  }

  private grow(): void {
    const size = this.due.length * 2;
    const bigger = <A extends Float64Array | Int32Array>(a: A, make: (n: number) => A): A => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.due = bigger(this.due, (n) => new Float64Array(n));
    this.order = bigger(this.order, (n) => new Float64Array(n));
    this.slotAt = bigger(this.slotAt, (n) => new Int32Array(n));
    this.posOf = bigger(this.posOf, (n) => new Int32Array(n));
    this.free = bigger(this.free, (n) => new Int32Array(n));
  }
}
