// An intrusive circular doubly linked list with a sentinel head, as libuv's uv__queue.
// Handles carry their own links, so joining or leaving a phase's list never allocates.

export interface QueueNode {
  /** @internal */ qnext: QueueNode;
  /** @internal */ qprev: QueueNode;
}

/** A list head. An empty list points at itself. */
export class Queue implements QueueNode {
  /** @internal */ qnext: QueueNode;
  /** @internal */ qprev: QueueNode;
  constructor() {
    this.qnext = this;
    this.qprev = this;
  }

  isEmpty(): boolean {
    return this.qnext === this;
  }

  insertHead(node: QueueNode): void {
    node.qnext = this.qnext;
    node.qprev = this;
    this.qnext.qprev = node;
    this.qnext = node;
  }

  insertTail(node: QueueNode): void {
    node.qprev = this.qprev;
    node.qnext = this;
    this.qprev.qnext = node;
    this.qprev = node;
  }

  /** Moves every node of this list to the end of `to`, leaving this one empty. */
  appendTo(to: Queue): void {
    if (this.qnext === this) return;
    const first = this.qnext;
    const last = this.qprev;
    first.qprev = to.qprev;
    to.qprev.qnext = first;
    last.qnext = to;
    to.qprev = last;
    this.qnext = this;
    this.qprev = this;
  }
}

/** Unlinks `node` from whatever list holds it; a detached node (linked to itself) is left as is. */
export function queueRemove(node: QueueNode): void {
  node.qprev.qnext = node.qnext;
  node.qnext.qprev = node.qprev;
  node.qnext = node;
  node.qprev = node;
}
