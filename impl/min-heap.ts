// A binary min-heap: push and pop in O(log n), peek in O(1). The Scheduler orders its pending
// actions by (due tick, id) in two of them.

export class MinHeap<T> {
  readonly #less: (a: T, b: T) => boolean;
  #items: T[] = [];

  constructor(less: (a: T, b: T) => boolean) {
    this.#less = less;
  }

  get size(): number {
    return this.#items.length;
  }

  /** The least item (undefined when empty). */
  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    const xs = this.#items;
    let i = xs.push(item) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(item, xs[parent]!)) break;
      xs[i] = xs[parent]!;
      i = parent;
    }
    xs[i] = item;
  }

  /** Removes and returns the least item (undefined when empty). */
  pop(): T | undefined {
    const xs = this.#items;
    const top = xs[0];
    const last = xs.pop();
    if (xs.length > 0) this.#siftDown(0, last!);
    return top;
  }

  /** Keeps only the items `keep` accepts (O(n)). */
  retain(keep: (item: T) => boolean): void {
    this.#items = this.#items.filter(keep);
    for (let i = (this.#items.length >> 1) - 1; i >= 0; i--) this.#siftDown(i, this.#items[i]!);
  }

  /** Places `item` at `i` or below, moving lesser children up. */
  #siftDown(i: number, item: T): void {
    const xs = this.#items;
    const n = xs.length;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.#less(xs[child + 1]!, xs[child]!)) child++;
      if (!this.#less(xs[child]!, item)) break;
      xs[i] = xs[child]!;
      i = child;
    }
    xs[i] = item;
  }
}
