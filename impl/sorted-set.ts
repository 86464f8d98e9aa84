// A sorted set with positions (an order-statistic B+ tree): add, delete, rank (how many keys
// sort before a key), at (the key at a position) and slice, each in O(log n) (slice: plus the
// keys it returns). MemoryDasd keeps each data set's handles in one (records in handle order);
// the Scheduler keeps the ids of the actions its seeded driver may pick in one (the pick is by
// position).
//
// Leaves hold up to MAX keys, branches up to MAX children with each child's first key and its
// subtree size. A node that grows past MAX splits in two; a node that shrinks below MIN is merged
// with a neighbour (and split again if that overfills it), so every node but the root holds at
// least MIN entries and the depth stays O(log n).

const MAX = 64;
const MIN = MAX >> 2;

interface Leaf<K> {
  readonly leaf: true;
  keys: K[];
}
interface Branch<K> {
  readonly leaf: false;
  children: Node<K>[];
  firsts: K[];
  size: number;
}
type Node<K> = Leaf<K> | Branch<K>;

const sizeOf = <K>(n: Node<K>): number => (n.leaf ? n.keys.length : n.size);
const widthOf = <K>(n: Node<K>): number => (n.leaf ? n.keys.length : n.children.length);
const firstOf = <K>(n: Node<K>): K => (n.leaf ? n.keys[0]! : n.firsts[0]!);

export class SortedSet<K> {
  readonly #compare: (a: K, b: K) => number;
  #root: Node<K> = { leaf: true, keys: [] };

  constructor(compare: (a: K, b: K) => number) {
    this.#compare = compare;
  }

  get size(): number {
    return sizeOf(this.#root);
  }

  /** Adds `key`; false if it was there already. */
  add(key: K): boolean {
    const right = this.#insert(this.#root, key);
    if (right === false) return false;
    if (right) {
      const left = this.#root;
      this.#root = {
        leaf: false,
        children: [left, right],
        firsts: [firstOf(left), firstOf(right)],
        size: sizeOf(left) + sizeOf(right),
      };
    }
    return true;
  }

  /** Deletes `key`; false if it was not there. */
  delete(key: K): boolean {
    if (!this.#remove(this.#root, key)) return false;
    while (!this.#root.leaf && this.#root.children.length <= 1)
      this.#root = this.#root.children[0] ?? { leaf: true, keys: [] };
    return true;
  }

  /** How many keys sort before `key` (`key` itself need not be in the set). */
  rank(key: K): number {
    let n = 0;
    let node = this.#root;
    while (!node.leaf) {
      const i = this.#childFor(node, key);
      for (let c = 0; c < i; c++) n += sizeOf(node.children[c]!);
      node = node.children[i]!;
    }
    return n + this.#lowerBound(node.keys, key);
  }

  /** The key at position `index` in order (0: the least), or undefined outside 0..size-1. */
  at(index: number): K | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) return undefined;
    let node = this.#root;
    while (!node.leaf) {
      let c = 0;
      while (index >= sizeOf(node.children[c]!)) index -= sizeOf(node.children[c++]!);
      node = node.children[c]!;
    }
    return node.keys[index];
  }

  /** Up to `count` keys in order, from position `start`. */
  slice(start: number, count: number): K[] {
    const out: K[] = [];
    const walk = (node: Node<K>, skip: number): void => {
      if (node.leaf) {
        for (let i = skip; i < node.keys.length && out.length < count; i++) out.push(node.keys[i]!);
        return;
      }
      for (const child of node.children) {
        if (out.length >= count) return;
        const s = sizeOf(child);
        if (skip >= s) {
          skip -= s;
          continue;
        }
        walk(child, skip);
        skip = 0;
      }
    };
    walk(this.#root, Math.max(0, start));
    return out;
  }

  /** The index of the first key not less than `key` in a sorted array. */
  #lowerBound(keys: readonly K[], key: K): number {
    let hi = keys.length;
    if (hi === 0 || this.#compare(keys[hi - 1]!, key) < 0) return hi; // appending: one comparison
    let lo = 0;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#compare(keys[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The child whose range holds `key`: the last one whose first key is not greater (else the first). */
  #childFor(node: Branch<K>, key: K): number {
    let hi = node.firsts.length;
    if (this.#compare(node.firsts[hi - 1]!, key) <= 0) return hi - 1; // at or past the last child: one comparison
    let lo = 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#compare(node.firsts[mid]!, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** Inserts `key`; returns the new right sibling if `node` split, null if not, false if `key` was there. */
  #insert(node: Node<K>, key: K): Node<K> | null | false {
    if (node.leaf) {
      const i = this.#lowerBound(node.keys, key);
      if (i < node.keys.length && this.#compare(node.keys[i]!, key) === 0) return false;
      node.keys.splice(i, 0, key);
    } else {
      const i = this.#childFor(node, key);
      const child = node.children[i]!;
      const right = this.#insert(child, key);
      if (right === false) return false;
      node.size++;
      node.firsts[i] = firstOf(child);
      if (right) {
        node.children.splice(i + 1, 0, right);
        node.firsts.splice(i + 1, 0, firstOf(right));
      }
    }
    return widthOf(node) > MAX ? split(node) : null;
  }

  /** Removes `key` (false if it is not there), merging a child that falls below MIN. */
  #remove(node: Node<K>, key: K): boolean {
    if (node.leaf) {
      const i = this.#lowerBound(node.keys, key);
      if (i === node.keys.length || this.#compare(node.keys[i]!, key) !== 0) return false;
      node.keys.splice(i, 1);
      return true;
    }
    const i = this.#childFor(node, key);
    const child = node.children[i]!;
    if (!this.#remove(child, key)) return false;
    node.size--;
    node.firsts[i] = firstOf(child);
    if (widthOf(child) < MIN && node.children.length > 1) rebalance(node, i);
    return true;
  }
}

/** Moves the upper half of an overfull node into a new node, which it returns. */
function split<K>(node: Node<K>): Node<K> {
  const half = widthOf(node) >> 1;
  if (node.leaf) return { leaf: true, keys: node.keys.splice(half) };
  const children = node.children.splice(half);
  const size = children.reduce((s, c) => s + sizeOf(c), 0);
  node.size -= size;
  return { leaf: false, children, firsts: node.firsts.splice(half), size };
}

/** Merges the underfull child `i` of `parent` with a neighbour, splitting the result again if it overfills. */
function rebalance<K>(parent: Branch<K>, i: number): void {
  const l = i > 0 ? i - 1 : i;
  const left = parent.children[l]!;
  const right = parent.children[l + 1]!;
  if (left.leaf)
    left.keys.push(...(right as Leaf<K>).keys); // siblings are at the same depth
  else {
    const r = right as Branch<K>;
    left.children.push(...r.children);
    left.firsts.push(...r.firsts);
    left.size += r.size;
  }
  parent.children.splice(l + 1, 1);
  parent.firsts.splice(l + 1, 1);
  if (widthOf(left) > MAX) {
    const extra = split(left);
    parent.children.splice(l + 1, 0, extra);
    parent.firsts.splice(l + 1, 0, firstOf(extra));
  }
}
