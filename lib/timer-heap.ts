// The loop's timers in a binary min-heap keyed by (due, startId), as libuv's timer_less_than:
// equal due times fire in the order the timers were started. Each entry remembers its index,
// so removing a stopped timer is O(log n) without a search.

export interface HeapEntry {
  /** @internal */ due: number;
  /** @internal */ startId: number;
  /** @internal */ heapIndex: number; // -1 while not in the heap
}

function less(a: HeapEntry, b: HeapEntry): boolean {
  return a.due < b.due || (a.due === b.due && a.startId < b.startId);
}

export class TimerHeap<T extends HeapEntry> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  min(): T | undefined {
    return this.items[0];
  }

  insert(entry: T): void {
    const items = this.items;
    entry.heapIndex = items.length;
    items.push(entry);
    this.siftUp(entry.heapIndex);
  }

  remove(entry: T): void {
    const items = this.items;
    const i = entry.heapIndex;
    const last = items.pop() as T;
    entry.heapIndex = -1;
    if (last === entry) return;
    items[i] = last;
    last.heapIndex = i;
    // The moved entry may belong above or below its new place.
    if (i > 0 && less(last, items[(i - 1) >> 1] as T)) this.siftUp(i);
    else this.siftDown(i);
  }

  private siftUp(i: number): void {
    const items = this.items;
    const entry = items[i] as T;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = items[parentIndex] as T;
      if (!less(entry, parent)) break;
      items[i] = parent;
      parent.heapIndex = i;
      i = parentIndex;
    }
    items[i] = entry;
    entry.heapIndex = i;
  }

  private siftDown(i: number): void {
    const items = this.items;
    const n = items.length;
    const entry = items[i] as T;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && less(items[right] as T, items[child] as T)) child = right;
      const smaller = items[child] as T;
      if (!less(smaller, entry)) break;
      items[i] = smaller;
      smaller.heapIndex = i;
      i = child;
    }
    items[i] = entry;
    entry.heapIndex = i;
  }
}
