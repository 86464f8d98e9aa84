// The deterministic scheduler (impl/sysplex.ts): its seeded driver picks a random due non-timer
// action by its position in id order (a member's notifications one at a time, oldest first), and
// when none is due the action with the earliest due tick, the lowest id among equals. Checked
// case by case and, with fast-check, against a reference that computes each pick from scratch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Rng } from '../impl/rng.ts';
import { Scheduler, type ActionDescriptor, type ActionKind } from '../impl/sysplex.ts';

interface RefAction {
  id: number;
  kind: ActionKind;
  due: number;
  owner: string | null;
}

/** The pick rule stated plainly: every pending action looked at on every pick. */
class ReferenceScheduler {
  tick = 0;
  #nextId = 1;
  actions: RefAction[] = [];
  add(kind: ActionKind, delay: number, owner: string | null): number {
    this.actions.push({ id: this.#nextId, kind, due: this.tick + delay, owner });
    return this.#nextId++;
  }
  remove(id: number): void {
    this.actions = this.actions.filter((a) => a.id !== id);
  }
  fire(id: number): void {
    const a = this.actions.find((x) => x.id === id)!;
    this.remove(id);
    this.tick = Math.max(this.tick + 1, a.due);
  }
  pick(rng: Rng): number | null {
    if (this.actions.length === 0) return null;
    const oldestNotify = (a: RefAction): boolean =>
      !this.actions.some((b) => b.kind === 'notify' && b.owner === a.owner && b.id < a.id);
    const due = this.actions.filter(
      (a) =>
        a.kind !== 'timer' && a.due <= this.tick + 1 && (a.kind !== 'notify' || oldestNotify(a)),
    );
    if (due.length > 0) return due[rng.int(due.length)]!.id;
    return [...this.actions].sort((a, b) => a.due - b.due || a.id - b.id)[0]!.id;
  }
}

const noop = (): void => {};

/** An action of the kind; the scheduler orders by kind, due tick and owner, never by what it is about (`tag`). */
function of(kind: ActionKind, tag: string): ActionDescriptor {
  switch (kind) {
    case 'deliver':
      return {
        kind,
        message: { id: tag, type: 'reload', from: 'SYSA', to: 'SYSB', change: null, body: {} },
      };
    case 'timer':
      return { kind, timer: 'retry', step: tag, member: 'SYSA' };
    case 'work':
      return { kind, step: 'reload', member: tag };
    case 'arrival':
      return { kind, update: tag, member: 'SYSA' };
    case 'notify':
      return { kind, notice: 'memberLost', member: tag, observer: 'SYSB' };
    case 'restart':
      return { kind, how: 'restart', member: tag };
  }
}

test('scheduler: with nothing due, the earliest due action fires first, the lowest id among equal due ticks', () => {
  const s = new Scheduler();
  const rng = new Rng(1);
  // timers (never picked at random) with due ticks 9, 5, 5, 7, 5: ids 2, 3, 5 share the earliest
  const ids = [9, 5, 5, 7, 5].map((d) => s.add(of('timer', `t${d}`), noop, { delay: d }));
  const order: number[] = [];
  for (let id = s.pickNext(rng); id !== null; id = s.pickNext(rng)) {
    order.push(id);
    s.fire(id);
  }
  assert.deepEqual(order, [ids[1], ids[2], ids[4], ids[3], ids[0]]);
  assert.equal(s.tick, 9);
});

test('scheduler: many equal due ticks added out of order still fire by id (a heap keyed on due alone would not)', () => {
  const s = new Scheduler();
  const rng = new Rng(2);
  const dues = Array.from({ length: 300 }, (_, i) => 10 + ((i * 7919) % 4));
  const ids = dues.map((d) => s.add(of('timer', 't'), noop, { delay: d }));
  const expected = ids
    .map((id, i) => ({ id, due: dues[i]! }))
    .sort((a, b) => a.due - b.due || a.id - b.id)
    .map((x) => x.id);
  const order: number[] = [];
  for (let id = s.pickNext(rng); id !== null; id = s.pickNext(rng)) {
    order.push(id);
    s.fire(id);
  }
  assert.deepEqual(order, expected);
});

test('scheduler: the random pick is one draw over the due non-timer actions in id order', () => {
  const s = new Scheduler();
  const work = [0, 0, 1, 5, 0].map((d, i) =>
    s.add(of(i % 2 ? 'deliver' : 'work', `w${i}`), noop, { delay: d }),
  );
  s.add(of('timer', 'timer'), noop);
  const due = [work[0]!, work[1]!, work[2]!, work[4]!]; // delay 5 is not due at tick 0 (due means by tick 1)
  const a = new Rng(77);
  const b = new Rng(77);
  assert.equal(s.pickNext(a), due[b.int(due.length)]);
  assert.equal(a.u32(), b.u32(), 'the pick drew exactly one number');
});

test("scheduler: a cancelled action is never picked, and cancelOwnedBy ends only that member's actions", () => {
  const s = new Scheduler();
  const rng = new Rng(3);
  const keep = s.add(of('work', 'keep'), noop, { owner: 'SYSB' });
  const gone = s.add(of('work', 'gone'), noop);
  const later = s.add(of('deliver', 'later'), noop, { delay: 10 });
  const owned = [
    s.add(of('timer', 'timer'), noop, { owner: 'SYSA', delay: 3 }),
    s.add(of('work', 'work'), noop, { owner: 'SYSA', delay: 4 }),
  ];
  s.cancel(gone);
  s.cancel(later);
  s.cancel(null);
  s.cancelOwnedBy('SYSA');
  assert.deepEqual(
    s.pending().map((a) => a.id),
    [keep],
  );
  const order: number[] = [];
  for (let id = s.pickNext(rng); id !== null; id = s.pickNext(rng)) {
    order.push(id);
    s.fire(id);
  }
  assert.deepEqual(order, [keep]);
  assert.ok(!owned.some((id) => s.get(id)));
  assert.throws(() => s.fire(gone), /no pending action #2/);
});

test('scheduler: a member gets its notifications one at a time, oldest first, also when one is cancelled', () => {
  const s = new Scheduler();
  const rng = new Rng(4);
  const n1 = s.add(of('notify', 'n1'), noop, { owner: 'SYSB' });
  const n2 = s.add(of('notify', 'n2'), noop, { owner: 'SYSB' });
  const n3 = s.add(of('notify', 'n3'), noop, { owner: 'SYSB' });
  // only n1 can be picked, however often we ask
  for (let i = 0; i < 20; i++) assert.equal(s.pickNext(new Rng(i)), n1);
  s.cancel(n2);
  s.fire(n1);
  assert.equal(s.pickNext(rng), n3);
  // a notification fired by hand out of turn: the oldest left is next
  const n4 = s.add(of('notify', 'n4'), noop, { owner: 'SYSB' });
  s.fire(n4);
  assert.equal(s.pickNext(rng), n3);
});

test('scheduler: 150,000 pending actions run to the end (the old pick overflowed the stack at 130,000)', () => {
  const s = new Scheduler();
  const rng = new Rng(5);
  let fired = 0;
  for (let i = 0; i < 150_000; i++)
    s.add(
      of('arrival', 'u'),
      () => {
        fired++;
      },
      { delay: 1 + (i % 1000) * 8 },
    );
  for (let id = s.pickNext(rng); id !== null; id = s.pickNext(rng)) s.fire(id);
  assert.equal(fired, 150_000);
  assert.equal(s.size, 0);
});

// Operations on both schedulers: add (kind, delay, owner), cancel / fire by hand (the n-th pending
// action), cancelOwnedBy, and a seeded step (pick and fire).
const kinds: ActionKind[] = ['deliver', 'timer', 'work', 'arrival', 'notify', 'restart'];
const opArb = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('add' as const),
      kind: fc.constantFrom(...kinds),
      delay: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 30 })),
      owner: fc.constantFrom(null, 'SYSA', 'SYSB'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constantFrom('cancel' as const, 'fire' as const),
      nth: fc.nat(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('cancelOwnedBy' as const),
      owner: fc.constantFrom('SYSA', 'SYSB'),
    }),
  },
  { weight: 6, arbitrary: fc.constant({ op: 'step' as const }) },
);

test('scheduler property: it fires actions in the same order, at the same ticks, with the same draws as the reference', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 2 ** 32 }),
      fc.array(opArb, { maxLength: 400, size: 'max' }),
      (seed, ops) => {
        const s = new Scheduler();
        const ref = new ReferenceScheduler();
        const rng = new Rng(seed);
        const refRng = new Rng(seed);
        const fired: number[] = [];
        const run = (id: number) => () => {
          fired.push(id);
        };
        for (const o of ops) {
          if (o.op === 'add') {
            const id = ref.add(o.kind, o.delay, o.owner);
            assert.equal(s.add(of(o.kind, 'x'), run(id), { delay: o.delay, owner: o.owner }), id);
          } else if (o.op === 'cancel' || o.op === 'fire') {
            if (ref.actions.length === 0) continue;
            const id = ref.actions[o.nth % ref.actions.length]!.id;
            if (o.op === 'cancel') {
              ref.remove(id);
              s.cancel(id);
            } else {
              ref.fire(id);
              s.fire(id);
              assert.equal(fired.at(-1), id);
            }
          } else if (o.op === 'cancelOwnedBy') {
            ref.actions.filter((a) => a.owner === o.owner).forEach((a) => ref.remove(a.id));
            s.cancelOwnedBy(o.owner);
          } else {
            const expected = ref.pick(refRng);
            assert.equal(s.pickNext(rng), expected);
            if (expected !== null) {
              ref.fire(expected);
              s.fire(expected);
            }
          }
          assert.equal(s.tick, ref.tick);
          assert.deepEqual(
            s.pending().map((a) => a.id),
            ref.actions.map((a) => a.id),
          );
        }
        // drain both: the whole remaining order agrees too
        for (let id = ref.pick(refRng); id !== null; id = ref.pick(refRng)) {
          assert.equal(s.pickNext(rng), id);
          ref.fire(id);
          s.fire(id);
        }
        assert.equal(s.pickNext(rng), null);
        assert.equal(rng.u32(), refRng.u32());
      },
    ),
    { numRuns: 200 },
  );
});
