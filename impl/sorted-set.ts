// Ordered collections with positions (an order-statistic B+ tree): OrderedMap (keys to values)
// and SortedSet (keys only, over an OrderedMap). get, set, delete, rank (how many keys sort before
// a key), at (the entry at a position) and slice each take O(log n) (slice: plus what it returns).
// MemoryDasd keeps each data set's records in an OrderedMap keyed by handle; the Scheduler keeps
// the ids of the actions its seeded driver may pick in a SortedSet (the pick is by position).
//
// Leaves hold up to MAX entries, branches up to MAX children with each child's first key and its
// subtree size. A node that grows past MAX splits in two; a node that shrinks below MIN is merged
// with a neighbour (and split again if that overfills it), so every node but the root holds at
// least MIN entries and the depth stays O(log n).
//
// Snapshots (persistent, structurally shared): `snapshot()` is O(1): the new map and this one
// share every node, and neither changes a shared node in place. Each node records its owner, the
// map that may change it in place; a write copies the nodes on its path that another owner holds
// (O(log n)), after which the writer owns the copies and later writes there are in place. A
// snapshot taken before a write never sees it, and a write to a snapshot never reaches the map.

const MAX = 64;
const MIN = MAX >> 2;

/** A map's identity as the owner of nodes; a snapshot gives both maps new ones. */
type Owner = object;

interface Leaf<K, V> {
  readonly leaf: true;
  readonly owner: Owner;
  keys: K[];
  values: V[];
}
interface Branch<K, V> {
  readonly leaf: false;
  readonly owner: Owner;
  children: Node<K, V>[];
  firsts: K[];
  size: number;
}
type Node<K, V> = Leaf<K, V> | Branch<K, V>;

const sizeOf = <K, V>(n: Node<K, V>): number => (n.leaf ? n.keys.length : n.size);
const widthOf = <K, V>(n: Node<K, V>): number => (n.leaf ? n.keys.length : n.children.length);
const firstOf = <K, V>(n: Node<K, V>): K => (n.leaf ? n.keys[0]! : n.firsts[0]!);
const emptyLeaf = <K, V>(owner: Owner): Leaf<K, V> => ({ leaf: true, owner, keys: [], values: [] });

export class OrderedMap<K, V> {
  readonly #compare: (a: K, b: K) => number;
  #owner: Owner = {};
  #root: Node<K, V> = emptyLeaf(this.#owner);

  constructor(compare: (a: K, b: K) => number) {
    this.#compare = compare;
  }

  get size(): number {
    return sizeOf(this.#root);
  }

  /** A copy in O(1): later writes to either map are not seen by the other. */
  snapshot(): OrderedMap<K, V> {
    const copy = new OrderedMap<K, V>(this.#compare);
    copy.#root = this.#root;
    this.#owner = {}; // the shared nodes now belong to neither map
    return copy;
  }

  get(key: K): V | undefined {
    let node = this.#root;
    while (!node.leaf) node = node.children[this.#childFor(node, key)]!;
    const i = this.#lowerBound(node.keys, key);
    return i < node.keys.length && this.#compare(node.keys[i]!, key) === 0
      ? node.values[i]
      : undefined;
  }

  has(key: K): boolean {
    let node = this.#root;
    while (!node.leaf) node = node.children[this.#childFor(node, key)]!;
    const i = this.#lowerBound(node.keys, key);
    return i < node.keys.length && this.#compare(node.keys[i]!, key) === 0;
  }

  /** Sets `key` to `value`; true if `key` is new, false if its value was replaced. */
  set(key: K, value: V): boolean {
    const root = this.#own(this.#root);
    const right = this.#insert(root, key, value);
    this.#root = right
      ? {
          leaf: false,
          owner: this.#owner,
          children: [root, right],
          firsts: [firstOf(root), firstOf(right)],
          size: sizeOf(root) + sizeOf(right),
        }
      : root;
    return right !== false;
  }

  /** Deletes `key`; false if it was not there. */
  delete(key: K): boolean {
    if (!this.has(key)) return false; // (so that a miss copies nothing)
    let root = this.#own(this.#root);
    this.#remove(root, key);
    while (!root.leaf && root.children.length <= 1)
      root = root.children[0] ?? emptyLeaf(this.#owner);
    this.#root = root;
    return true;
  }

  /** How many keys sort before `key` (`key` itself need not be in the map). */
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

  /** The value at position `index` in key order (0: the least key), or undefined outside 0..size-1. */
  at(index: number): V | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) return undefined;
    let node = this.#root;
    while (!node.leaf) {
      let c = 0;
      while (index >= sizeOf(node.children[c]!)) index -= sizeOf(node.children[c++]!);
      node = node.children[c]!;
    }
    return node.values[index];
  }

  /** Up to `count` values in key order, from position `start`. */
  slice(start: number, count: number): V[] {
    const out: V[] = [];
    const walk = (node: Node<K, V>, skip: number): void => {
      if (node.leaf) {
        for (let i = skip; i < node.keys.length && out.length < count; i++)
          out.push(node.values[i]!);
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

  /** Every value in key order (a later write to this map is not seen by a walk under way). */
  *values(): Generator<V> {
    const walk = function* (node: Node<K, V>): Generator<V> {
      if (node.leaf) yield* node.values;
      else for (const child of node.children) yield* walk(child);
    };
    const root = this.#root;
    this.#owner = {}; // the walk's nodes are no longer changed in place
    yield* walk(root);
  }

  /** `node` if this map owns it, else a copy that it owns (the arrays copied, the entries shared). */
  #own(node: Node<K, V>): Node<K, V> {
    if (node.owner === this.#owner) return node;
    return node.leaf
      ? { leaf: true, owner: this.#owner, keys: node.keys.slice(), values: node.values.slice() }
      : {
          leaf: false,
          owner: this.#owner,
          children: node.children.slice(),
          firsts: node.firsts.slice(),
          size: node.size,
        };
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
  #childFor(node: Branch<K, V>, key: K): number {
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

  /** Sets `key` under `node` (owned); the new right sibling if `node` split, null if not, false if `key` was there. */
  #insert(node: Node<K, V>, key: K, value: V): Node<K, V> | null | false {
    if (node.leaf) {
      const i = this.#lowerBound(node.keys, key);
      if (i < node.keys.length && this.#compare(node.keys[i]!, key) === 0) {
        node.values[i] = value;
        return false;
      }
      node.keys.splice(i, 0, key);
      node.values.splice(i, 0, value);
      if (widthOf(node) > MAX) return this.#split(node, i === MAX);
    } else {
      const i = this.#childFor(node, key);
      const child = (node.children[i] = this.#own(node.children[i]!));
      const right = this.#insert(child, key, value);
      if (right === false) return false;
      node.size++;
      node.firsts[i] = firstOf(child);
      if (right) {
        node.children.splice(i + 1, 0, right);
        node.firsts.splice(i + 1, 0, firstOf(right));
        if (widthOf(node) > MAX) return this.#split(node, i + 1 === MAX);
      }
    }
    return null;
  }

  /** Removes `key`, which is under `node` (owned), merging a child that falls below MIN. */
  #remove(node: Node<K, V>, key: K): void {
    if (node.leaf) {
      const i = this.#lowerBound(node.keys, key);
      node.keys.splice(i, 1);
      node.values.splice(i, 1);
      return;
    }
    const i = this.#childFor(node, key);
    const child = (node.children[i] = this.#own(node.children[i]!));
    this.#remove(child, key);
    node.size--;
    node.firsts[i] = firstOf(child);
    if (widthOf(child) < MIN && node.children.length > 1) this.#rebalance(node, i);
  }

  /**
   * Moves the upper half of an overfull node (owned) into a new node, which it returns; `appended`
   * (the entry that overfilled it is its last): only its last MIN entries. Keys written in order
   * (a data set made or re-enciphered in handle order) then fill their nodes to MAX + 1 - MIN,
   * where halves would leave every node half empty for good. A split leaf keeps arrays of its own length (a
   * copy): V8 keeps an array's room after a splice, a million records' worth at scale.
   */
  #split(node: Node<K, V>, appended: boolean): Node<K, V> {
    const half = appended ? MAX + 1 - MIN : widthOf(node) >> 1;
    if (node.leaf) {
      const right: Leaf<K, V> = {
        leaf: true,
        owner: this.#owner,
        keys: node.keys.splice(half),
        values: node.values.splice(half),
      };
      node.keys = node.keys.slice();
      node.values = node.values.slice();
      return right;
    }
    const children = node.children.splice(half);
    const size = children.reduce((s, c) => s + sizeOf(c), 0);
    node.size -= size;
    return { leaf: false, owner: this.#owner, children, firsts: node.firsts.splice(half), size };
  }

  /** Merges the underfull child `i` of `parent` (owned) with a neighbour, splitting the result again if it overfills. */
  #rebalance(parent: Branch<K, V>, i: number): void {
    const l = i > 0 ? i - 1 : i;
    const left = (parent.children[l] = this.#own(parent.children[l]!));
    const right = parent.children[l + 1]!; // read only: it is dropped
    if (left.leaf) {
      const r = right as Leaf<K, V>; // siblings are at the same depth
      left.keys.push(...r.keys);
      left.values.push(...r.values);
    } else {
      const r = right as Branch<K, V>;
      left.children.push(...r.children);
      left.firsts.push(...r.firsts);
      left.size += r.size;
    }
    parent.children.splice(l + 1, 1);
    parent.firsts.splice(l + 1, 1);
    if (widthOf(left) > MAX) {
      const extra = this.#split(left, false);
      parent.children.splice(l + 1, 0, extra);
      parent.firsts.splice(l + 1, 0, firstOf(extra));
    }
  }
}

/** A sorted set of keys with positions: an OrderedMap from each key to itself. */
export class SortedSet<K> {
  readonly #map: OrderedMap<K, K>;

  constructor(compare: (a: K, b: K) => number) {
    this.#map = new OrderedMap(compare);
  }

  get size(): number {
    return this.#map.size;
  }
  /** Adds `key`; false if it was there already. */
  add(key: K): boolean {
    return this.#map.set(key, key);
  }
  /** Deletes `key`; false if it was not there. */
  delete(key: K): boolean {
    return this.#map.delete(key);
  }
  /** How many keys sort before `key` (`key` itself need not be in the set). */
  rank(key: K): number {
    return this.#map.rank(key);
  }
  /** The key at position `index` in order (0: the least), or undefined outside 0..size-1. */
  at(index: number): K | undefined {
    return this.#map.at(index);
  }
  /** Up to `count` keys in order, from position `start`. */
  slice(start: number, count: number): K[] {
    return this.#map.slice(start, count);
  }
}
