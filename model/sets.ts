// Sets of member names and update ids, kept as sorted arrays so that a statechart context has
// one serialization per value (the graph utilities compare states by their JSON).

export function withItem(set: readonly string[], item: string): string[] {
  return set.includes(item) ? [...set] : [...set, item].sort();
}

export function withItems(set: readonly string[], items: readonly string[]): string[] {
  return items.reduce<string[]>((acc, item) => withItem(acc, item), [...set]);
}

export function withoutItem(set: readonly string[], item: string): string[] {
  return set.filter((x) => x !== item);
}
