// Random runs of the reference implementation (fast-check arbitraries), shared by the property
// test (specs/impl-property.test.ts) and the conformance soak (specs/soak.ts): random clusters
// (1-5 members), data sets (0-200 objects of mixed kinds over several tokens), concurrent
// updates, faults of every kind (crash, partition, drop, duplicate, delay, ioError, random) and
// schedules (the seed).
import fc from 'fast-check';
import { STEP_NAMES, MESSAGE_TYPES, type Fault, type SimulateOptions } from '../../impl/index.ts';

export const MEMBER_NAMES = ['SYSA', 'SYSB', 'SYSC', 'SYSD', 'SYSE'];

export const faultArb = (members: number): fc.Arbitrary<Fault> =>
  fc.oneof(
    fc.record({
      kind: fc.constantFrom('crash' as const, 'partition' as const),
      member: fc.constantFrom(...MEMBER_NAMES.slice(0, members)),
      at: fc.constantFrom(...STEP_NAMES, 'takeover' as const),
      restartAfter: fc.integer({ min: 1, max: 80 }),
    }),
    fc.record({
      kind: fc.constantFrom('drop' as const, 'duplicate' as const, 'delay' as const),
      message: fc.constantFrom(...MESSAGE_TYPES),
      count: fc.integer({ min: 1, max: 4 }),
    }),
    fc.record({ kind: fc.constant('ioError' as const), at: fc.constantFrom(...STEP_NAMES) }),
    fc.record({
      kind: fc.constant('random' as const),
      rate: fc.double({ min: 0, max: 0.3, noNaN: true }),
      stopAfter: fc.integer({ min: 0, max: 250 }),
    }),
  );

export const optionsArb: fc.Arbitrary<SimulateOptions> = fc.integer({ min: 1, max: 5 }).chain((n) =>
  fc.record({
    seed: fc.integer({ min: 1, max: 2 ** 31 }),
    members: fc.constant(MEMBER_NAMES.slice(0, n).map((name) => ({ name }))),
    initiator: fc.constantFrom(...MEMBER_NAMES.slice(0, n)),
    dataSet: fc.record({
      tokens: fc.integer({ min: 1, max: 5 }),
      objects: fc.integer({ min: 0, max: 200 }),
      secureFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
    updates: fc.record({
      count: fc.integer({ min: 0, max: 15 }),
      every: fc.integer({ min: 0, max: 6 }),
    }),
    dynamicUpdates: fc.boolean(),
    chunk: fc.integer({ min: 3, max: 60 }),
    faults: fc.array(faultArb(n), { maxLength: 3 }),
  }),
);
