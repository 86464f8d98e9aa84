// The simulated EP11 coprocessor (impl/coprocessor.ts): registers `cur` and `new`, TKE-style
// key parts, commitNew / clearNew / setMasterKey, wrap / unwrap / rewrap / keyCheckValue, the
// blob format, every refusal, zeroize, and that no key bytes ever show.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import util from 'node:util';
import fc from 'fast-check';
import {
  Coprocessor,
  CoprocessorError,
  MASTER_KEY_BYTES,
  MAX_KEY_VALUE_BYTES,
  blobMkvp,
  blobUnder,
  kcvOf,
  mkvpOf,
  type CoprocessorErrorCode,
} from '../impl/coprocessor.ts';

const random = (n: number): Uint8Array => Uint8Array.from(crypto.randomBytes(n));
const xor = (parts: Uint8Array[]): Uint8Array =>
  parts.reduce((a, p) => a.map((b, i) => b ^ p[i]!), new Uint8Array(MASTER_KEY_BYTES));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Load `parts` into `new` as a TKE does: first, middles, last. Returns the combined key. */
function loadParts(cp: Coprocessor, parts: Uint8Array[]): Uint8Array {
  parts.forEach((p, i) =>
    cp.loadNewKeyPart(i === 0 ? 'first' : i === parts.length - 1 ? 'last' : 'middle', p),
  );
  return xor(parts);
}
/** A coprocessor whose `cur` holds a master key loaded from `parts` (default: two random parts). */
function withCur(
  serial = 'SYSA.CP0',
  parts = [random(32), random(32)],
): { cp: Coprocessor; key: Uint8Array } {
  const cp = new Coprocessor(serial);
  const key = loadParts(cp, parts);
  cp.commitNew();
  cp.setMasterKey();
  return { cp, key };
}
/** `cp` with a committed `new` as well; returns the new key. */
function withCommittedNew(
  cp: Coprocessor,
  parts = [random(32), random(32), random(32)],
): Uint8Array {
  const key = loadParts(cp, parts);
  cp.commitNew();
  return key;
}

/** Every CoprocessorError seen by `refused`, so the leak test can search their messages. */
const errorsSeen: CoprocessorError[] = [];
function refused(code: CoprocessorErrorCode, f: () => unknown): CoprocessorError {
  let caught: CoprocessorError | undefined;
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof CoprocessorError, `expected CoprocessorError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    caught = e;
    return true;
  });
  errorsSeen.push(caught!);
  return caught!;
}

describe('MKVP and KCV: the documented one-way patterns', () => {
  it('mkvpOf is the first 16 bytes of SHA-256("tkds-cmk MKVP v1" || 00 || key)', () => {
    const key = random(32);
    const expected = crypto
      .createHash('sha256')
      .update(Buffer.concat([Buffer.from('tkds-cmk MKVP v1'), Buffer.alloc(1), key]))
      .digest('hex')
      .slice(0, 32);
    assert.equal(mkvpOf(key), expected);
    assert.match(mkvpOf(key), /^[0-9a-f]{32}$/);
    assert.notEqual(mkvpOf(random(32)), mkvpOf(key));
    assert.throws(() => mkvpOf(random(16)), /master key must be .* 32 bytes, got 16 bytes/);
  });

  it('kcvOf is the first 3 bytes of SHA-256("tkds-cmk KCV v1" || 00 || value), for any length', () => {
    for (const n of [1, 7, 32, 4096]) {
      const value = random(n);
      const expected = crypto
        .createHash('sha256')
        .update(Buffer.concat([Buffer.from('tkds-cmk KCV v1'), Buffer.alloc(1), value]))
        .digest('hex')
        .slice(0, 6);
      assert.equal(kcvOf(value), expected);
    }
    assert.throws(() => kcvOf(new Uint8Array(0)), RangeError);
  });
});

describe('a new coprocessor', () => {
  it('is active with both registers empty', () => {
    const cp = new Coprocessor('SYSA.CP0');
    assert.equal(cp.serial, 'SYSA.CP0');
    assert.equal(cp.active, true);
    assert.deepEqual(cp.cur, { status: 'empty', mkvp: null, partsLoaded: 0 });
    assert.deepEqual(cp.new, { status: 'empty', mkvp: null, partsLoaded: 0 });
  });
  it('needs a serial', () => {
    assert.throws(() => new Coprocessor(''), /serial must be a non-empty string/);
  });
  it('register views are read-only snapshots', () => {
    const { cp } = withCur();
    const view = cp.cur;
    assert.throws(() => {
      (view as { mkvp: string | null }).mkvp = null;
    }, TypeError);
    assert.notEqual(cp.cur.mkvp, null);
  });
});

describe('loading `new` in key parts (TKE)', () => {
  it('first, middles, last: partial state is visible, the MKVP appears with the last part', () => {
    const cp = new Coprocessor('SYSA.CP0');
    const parts = [random(32), random(32), random(32), random(32)];
    cp.loadNewKeyPart('first', parts[0]!);
    assert.deepEqual(cp.new, { status: 'uncommitted', mkvp: null, partsLoaded: 1 });
    cp.loadNewKeyPart('middle', parts[1]!);
    cp.loadNewKeyPart('middle', parts[2]!);
    assert.deepEqual(cp.new, { status: 'uncommitted', mkvp: null, partsLoaded: 3 });
    cp.loadNewKeyPart('last', parts[3]!);
    assert.deepEqual(cp.new, { status: 'uncommitted', mkvp: mkvpOf(xor(parts)), partsLoaded: 4 });
    assert.equal(cp.cur.status, 'empty');
  });

  it('two parts (first, last) make a key whose MKVP is that of their XOR', () => {
    const cp = new Coprocessor('SYSA.CP0');
    const key = loadParts(cp, [random(32), random(32)]);
    assert.equal(cp.new.mkvp, mkvpOf(key));
    assert.equal(cp.new.partsLoaded, 2);
  });

  it('refuses parts out of order, leaving the register as it was (keyPartOrder)', () => {
    const cp = new Coprocessor('SYSA.CP0');
    refused('keyPartOrder', () => cp.loadNewKeyPart('middle', random(32)));
    refused('keyPartOrder', () => cp.loadNewKeyPart('last', random(32)));
    assert.deepEqual(cp.new, { status: 'empty', mkvp: null, partsLoaded: 0 });
    cp.loadNewKeyPart('first', random(32));
    assert.match(
      refused('keyPartOrder', () => cp.loadNewKeyPart('first', random(32))).message,
      /^SYSA\.CP0: .*partially loaded \(1 key part loaded\).*clear it first/,
    );
    cp.loadNewKeyPart('last', random(32));
    const full = cp.new;
    refused('keyPartOrder', () => cp.loadNewKeyPart('middle', random(32)));
    refused('keyPartOrder', () => cp.loadNewKeyPart('last', random(32)));
    refused('keyPartOrder', () => cp.loadNewKeyPart('first', random(32)));
    cp.commitNew();
    refused('keyPartOrder', () => cp.loadNewKeyPart('first', random(32)));
    assert.deepEqual(cp.new, { ...full, status: 'committed' });
  });

  it('refuses bad parts (badKeyPart): wrong size, not bytes, unknown kind, an all-zero key', () => {
    const cp = new Coprocessor('SYSA.CP0');
    assert.match(
      refused('badKeyPart', () => cp.loadNewKeyPart('first', random(16))).message,
      /32 bytes, got 16 bytes/,
    );
    refused('badKeyPart', () => cp.loadNewKeyPart('first', 'secret' as unknown as Uint8Array));
    refused('badKeyPart', () => cp.loadNewKeyPart('second' as 'first', random(32)));
    const part = random(32);
    cp.loadNewKeyPart('first', part);
    refused('badKeyPart', () => cp.loadNewKeyPart('last', part.slice()));
    assert.deepEqual(cp.new, { status: 'uncommitted', mkvp: null, partsLoaded: 1 });
  });
});

describe('commitNew, clearNew, setMasterKey', () => {
  it('commitNew: complete uncommitted -> committed; anything else refused (notUncommitted)', () => {
    const cp = new Coprocessor('SYSA.CP0');
    refused('notUncommitted', () => cp.commitNew());
    cp.loadNewKeyPart('first', random(32));
    refused('notUncommitted', () => cp.commitNew());
    cp.loadNewKeyPart('last', random(32));
    cp.commitNew();
    assert.equal(cp.new.status, 'committed');
    assert.match(
      refused('notUncommitted', () => cp.commitNew()).message,
      /committed with MKVP [0-9a-f]{32}/,
    );
  });

  it('clearNew empties `new` from any state, and a first part may follow', () => {
    const cp = new Coprocessor('SYSA.CP0');
    cp.clearNew();
    for (const steps of [1, 2, 3]) {
      cp.loadNewKeyPart('first', random(32));
      if (steps >= 2) cp.loadNewKeyPart('last', random(32));
      if (steps >= 3) cp.commitNew();
      cp.clearNew();
      assert.deepEqual(cp.new, { status: 'empty', mkvp: null, partsLoaded: 0 });
    }
    const key = loadParts(cp, [random(32), random(32)]);
    assert.equal(cp.new.mkvp, mkvpOf(key));
  });

  it('setMasterKey: committed `new` becomes `cur`, `new` empties; refused otherwise (noCommittedNew)', () => {
    const cp = new Coprocessor('SYSA.CP0');
    refused('noCommittedNew', () => cp.setMasterKey());
    const key = loadParts(cp, [random(32), random(32)]);
    refused('noCommittedNew', () => cp.setMasterKey());
    cp.commitNew();
    cp.setMasterKey();
    assert.deepEqual(cp.cur, { status: 'committed', mkvp: mkvpOf(key), partsLoaded: 0 });
    assert.deepEqual(cp.new, { status: 'empty', mkvp: null, partsLoaded: 0 });
    refused('noCommittedNew', () => cp.setMasterKey());
  });

  it('setMasterKey: the old key is gone, its blobs fail with a WKID mismatch naming both MKVPs', () => {
    const { cp } = withCur();
    const oldMkvp = cp.cur.mkvp!;
    const blob = cp.wrap(random(32));
    const newKey = withCommittedNew(cp);
    cp.setMasterKey();
    const e = refused('wkidMismatch', () => cp.unwrap(blob));
    assert.ok(e.message.includes(oldMkvp) && e.message.includes(mkvpOf(newKey)), e.message);
    assert.match(e.message, /^SYSA\.CP0: WKID mismatch/);
    refused('wkidMismatch', () => cp.keyCheckValue(blob));
  });
});

describe('wrap and unwrap under `cur`', () => {
  it('round-trips key values of 1 to 4096 bytes; the blob records the MKVP in the documented layout', () => {
    const { cp } = withCur();
    for (const n of [1, 7, 8, 9, 16, 24, 32, 33, 64, 4095, MAX_KEY_VALUE_BYTES]) {
      const value = random(n);
      const blob = cp.wrap(value);
      assert.deepEqual(
        [...blob.subarray(0, 4)],
        [0x54, 0x4b, 0x42, 1],
        'magic "TKB" and version 1',
      );
      assert.equal(hex(blob.subarray(4, 20)), cp.cur.mkvp);
      assert.equal(blobMkvp(blob), cp.cur.mkvp);
      assert.equal(blob.length, 20 + 8 * (Math.ceil(n / 8) + 1));
      assert.deepEqual(cp.unwrap(blob), value);
      assert.equal(cp.keyCheckValue(blob), kcvOf(value));
    }
  });

  it('refuses key values outside 1..4096 bytes', () => {
    const { cp } = withCur();
    assert.throws(
      () => cp.wrap(new Uint8Array(0)),
      /key value must be .*1 to 4096 bytes, got 0 bytes/,
    );
    assert.throws(() => cp.wrap(new Uint8Array(4097)), /got 4097 bytes/);
  });

  it('blobUnder tells whether a blob records an MKVP, as blobMkvp does, and refuses what is no blob', () => {
    const { cp } = withCur();
    const blob = cp.wrap(random(32));
    const mkvp = blobMkvp(blob);
    assert.equal(blobUnder(blob, mkvp), true);
    for (let i = 0; i < mkvp.length; i++) {
      const other = mkvp.slice(0, i) + (mkvp[i] === '0' ? '1' : '0') + mkvp.slice(i + 1);
      assert.equal(blobUnder(blob, other), false, `one hex digit differs at ${i}`);
    }
    assert.equal(blobUnder(blob, mkvp.slice(0, 30)), false);
    assert.equal(blobUnder(blob, mkvp.toUpperCase()), mkvp === mkvp.toUpperCase());
    assert.throws(() => blobUnder(blob.subarray(0, 30), mkvp), /malformed blob/);
  });

  it('refuses with an empty `cur` (emptyCur)', () => {
    const cp = new Coprocessor('SYSA.CP1');
    const blob = withCur().cp.wrap(random(32));
    refused('emptyCur', () => cp.wrap(random(32)));
    refused('emptyCur', () => cp.unwrap(blob));
    refused('emptyCur', () => cp.keyCheckValue(blob));
    withCommittedNew(cp);
    refused('emptyCur', () => cp.rewrap(blob));
  });

  it('refuses a blob under another master key (wkidMismatch), even one in its own `new`', () => {
    const { cp } = withCur('SYSA.CP0');
    const other = withCur('SYSB.CP0').cp;
    const foreign = other.wrap(random(32));
    const e = refused('wkidMismatch', () => cp.unwrap(foreign));
    assert.ok(e.message.includes(other.cur.mkvp!) && e.message.includes(cp.cur.mkvp!));
    withCommittedNew(cp);
    const rewrapped = cp.rewrap(cp.wrap(random(32)));
    refused('wkidMismatch', () => cp.unwrap(rewrapped));
  });

  it('refuses malformed blobs (malformedBlob): short, long, bad length, magic, version, integrity', () => {
    const { cp } = withCur();
    const blob = cp.wrap(random(32));
    const edited = (at: number, value: number): Uint8Array => {
      const b = blob.slice();
      b[at] = value;
      return b;
    };
    // [case, blob, expected message, whether the header itself is bad (blobMkvp refuses it too)]
    const cases: [string, unknown, RegExp, boolean][] = [
      ['empty', new Uint8Array(0), /length 0/, true],
      ['header only', blob.subarray(0, 20), /length 20/, true],
      ['one KWP block short', blob.subarray(0, 28), /length 28/, true],
      ['not header + 8k', blob.subarray(0, blob.length - 3), /length 57/, true],
      ['too long for any key value', new Uint8Array(20 + 8 * 514), /length 4132/, true],
      ['not bytes', 'blob', /expected a Uint8Array, got a string value/, true],
      ['bad magic', edited(0, 0x55), /bad magic/, true],
      ['bad version', edited(3, 2), /unsupported format version 2/, true],
      [
        'tampered wrapped value',
        edited(blob.length - 1, blob[blob.length - 1]! ^ 1),
        /integrity check failed under MKVP/,
        false,
      ],
    ];
    for (const [name, bad, message, badHeader] of cases) {
      assert.match(
        refused('malformedBlob', () => cp.unwrap(bad as Uint8Array)).message,
        message,
        name,
      );
      assert.match(
        refused('malformedBlob', () => cp.keyCheckValue(bad as Uint8Array)).message,
        message,
        name,
      );
      if (badHeader)
        assert.match(
          refused('malformedBlob', () => blobMkvp(bad as Uint8Array)).message,
          message,
          name,
        );
      else assert.equal(blobMkvp(bad as Uint8Array), cp.cur.mkvp);
    }
  });

  it('refuses a foreign blob relabelled with the MKVP of `cur` (malformedBlob: integrity)', () => {
    const { cp } = withCur();
    const forged = withCur('SYSB.CP0').cp.wrap(random(32));
    forged.set(Buffer.from(cp.cur.mkvp!, 'hex'), 4);
    refused('malformedBlob', () => cp.unwrap(forged));
  });
});

describe('rewrap: `cur` -> committed `new`', () => {
  it('produces a blob under `new` with the same KCV, that unwraps after setMasterKey', () => {
    const { cp } = withCur();
    const value = random(32);
    const blob = cp.wrap(value);
    const kcv = cp.keyCheckValue(blob);
    const newKey = withCommittedNew(cp);
    const moved = cp.rewrap(blob);
    assert.equal(blobMkvp(moved), mkvpOf(newKey));
    assert.notDeepEqual(moved.subarray(20), blob.subarray(20));
    assert.deepEqual(cp.unwrap(blob), value, 'rewrap leaves `cur` in use');
    cp.setMasterKey();
    assert.equal(cp.keyCheckValue(moved), kcv);
    assert.deepEqual(cp.unwrap(moved), value);
  });

  it('refuses without a committed `new` (noCommittedNew), and blobs not under `cur`', () => {
    const { cp } = withCur();
    const blob = cp.wrap(random(24));
    refused('noCommittedNew', () => cp.rewrap(blob));
    cp.loadNewKeyPart('first', random(32));
    refused('noCommittedNew', () => cp.rewrap(blob));
    cp.loadNewKeyPart('last', random(32));
    assert.match(refused('noCommittedNew', () => cp.rewrap(blob)).message, /uncommitted with MKVP/);
    cp.commitNew();
    const moved = cp.rewrap(blob);
    refused('wkidMismatch', () => cp.rewrap(moved));
    refused('malformedBlob', () => cp.rewrap(blob.subarray(0, 30)));
  });

  it('blobs made earlier keep their bytes while thousands more are made (they share slabs)', () => {
    const { cp } = withCur();
    const values = Array.from({ length: 3000 }, (_, i) => random(1 + (i % 80)));
    const blobs = values.map((v) => cp.wrap(v));
    const copies = blobs.map((b) => Uint8Array.from(b));
    withCommittedNew(cp);
    const moved = blobs.map((b) => cp.rewrap(b));
    blobs.forEach((b, i) => assert.deepEqual(b, copies[i], `blob ${i} unchanged by later wraps`));
    blobs.forEach((b, i) => assert.deepEqual(cp.unwrap(b), values[i]));
    moved[0]!.fill(0); // a holder spoiling its own blob does not reach its neighbours
    cp.setMasterKey();
    moved.slice(1).forEach((b, i) => assert.deepEqual(cp.unwrap(b), values[i + 1]));
  });

  it('property: wrap -> rewrap -> setMasterKey -> unwrap returns the value with the same KCV', () => {
    const arbKey = fc.uint8Array({ minLength: 32, maxLength: 32 });
    fc.assert(
      fc.property(
        fc.array(arbKey, { minLength: 2, maxLength: 4 }),
        fc.array(arbKey, { minLength: 2, maxLength: 4 }),
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 600 }), { minLength: 1, maxLength: 5 }),
        (curParts, newParts, values) => {
          fc.pre(xor(curParts).some((b) => b !== 0) && xor(newParts).some((b) => b !== 0));
          const { cp } = withCur('SYSA.CP0', curParts);
          const blobs = values.map((v) => cp.wrap(v));
          const kcvs = blobs.map((b) => cp.keyCheckValue(b));
          withCommittedNew(cp, newParts);
          const moved = blobs.map((b) => cp.rewrap(b));
          cp.setMasterKey();
          assert.equal(cp.cur.mkvp, mkvpOf(xor(newParts)));
          moved.forEach((b, i) => {
            assert.equal(blobMkvp(b), cp.cur.mkvp);
            assert.deepEqual(cp.unwrap(b), values[i]);
            assert.equal(cp.keyCheckValue(b), kcvs[i]);
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('inactive coprocessor and zeroize', () => {
  it('an inactive coprocessor refuses every operation (inactive) but shows its registers', () => {
    const { cp } = withCur();
    const blob = cp.wrap(random(32));
    withCommittedNew(cp);
    const views = [cp.cur, cp.new];
    cp.active = false;
    const ops: (() => unknown)[] = [
      () => cp.loadNewKeyPart('first', random(32)),
      () => cp.commitNew(),
      () => cp.clearNew(),
      () => cp.setMasterKey(),
      () => cp.wrap(random(32)),
      () => cp.unwrap(blob),
      () => cp.rewrap(blob),
      () => cp.keyCheckValue(blob),
    ];
    for (const op of ops)
      assert.match(refused('inactive', op).message, /^SYSA\.CP0: the coprocessor is not active/);
    assert.deepEqual([cp.cur, cp.new], views);
    cp.active = true;
    assert.equal(blobMkvp(cp.rewrap(blob)), views[1]!.mkvp);
  });

  it('zeroize empties both registers; old blobs then meet an empty `cur`', () => {
    const { cp } = withCur();
    const blob = cp.wrap(random(32));
    withCommittedNew(cp);
    cp.zeroize();
    assert.deepEqual([cp.cur.status, cp.new.status], ['empty', 'empty']);
    refused('emptyCur', () => cp.unwrap(blob));
    refused('noCommittedNew', () => cp.setMasterKey());
    cp.loadNewKeyPart('first', random(32));
    cp.zeroize();
    assert.deepEqual(cp.new, { status: 'empty', mkvp: null, partsLoaded: 0 });
  });

  it('a key reloaded after zeroize reads the old blobs again (the blob needs only the key)', () => {
    const parts = [random(32), random(32)];
    const { cp } = withCur('SYSA.CP0', parts);
    const value = random(40);
    const blob = cp.wrap(value);
    cp.zeroize();
    loadParts(cp, parts);
    cp.commitNew();
    cp.setMasterKey();
    assert.deepEqual(cp.unwrap(blob), value);
  });
});

describe('key material never shows', () => {
  /**
   * The forms a byte string takes in text, searched for in text with all whitespace removed:
   * hex (both cases; also Buffer's inspect), base64, the decimal list of inspect and of a
   * Buffer's JSON, and the {"0":..} JSON of a Uint8Array.
   */
  const forms = (b: Uint8Array): string[] => [
    hex(b),
    hex(b).toUpperCase(),
    Buffer.from(b).toString('base64').slice(0, 16),
    [...b.subarray(0, 8)].join(','),
    [...b.subarray(0, 4)].map((x, i) => `"${i}":${x}`).join(','),
  ];
  const squash = (text: string): string => text.replace(/\s+/g, '');
  const shows = (text: string, secret: Uint8Array): boolean =>
    forms(secret).some((f) => squash(text).includes(f));

  it('the search finds a key in every rendering it could take', () => {
    const key = random(32);
    for (const text of [
      util.inspect(key),
      util.inspect(Buffer.from(key)),
      JSON.stringify(key),
      JSON.stringify(Buffer.from(key)),
      String(key),
      `key ${hex(key)}`,
      Buffer.from(key).toString('base64'),
    ]) {
      assert.ok(shows(text, key), text);
    }
    assert.ok(!shows(util.inspect(random(32)), key));
  });

  it('not in JSON, String(), util.inspect or any error message, in every register state', () => {
    const curParts = [random(32), random(32), random(32)];
    const newParts = [random(32), random(32)];
    const values = [random(32), random(16), random(5)];
    const secrets = [...curParts, ...newParts, xor(curParts), xor(newParts), ...values];
    const { cp } = withCur('SYSA.CP0', curParts);
    const texts: string[] = [];
    const show = (): void => {
      texts.push(
        JSON.stringify(cp),
        String(cp),
        `${cp}`,
        util.inspect(cp, { showHidden: true, depth: Infinity }),
        util.inspect({ nested: [cp] }, { depth: Infinity }),
        JSON.stringify({ cur: cp.cur, new: cp.new }),
      );
    };
    show();
    const blobs = values.map((v) => cp.wrap(v));
    cp.loadNewKeyPart('first', newParts[0]!);
    show();
    cp.loadNewKeyPart('last', newParts[1]!);
    show();
    cp.commitNew();
    show();
    const moved = blobs.map((b) => cp.rewrap(b));
    texts.push(...blobs.map((b) => cp.keyCheckValue(b)));
    // provoke errors in this state, then after setMasterKey
    refused('wkidMismatch', () => cp.unwrap(moved[0]!));
    refused('malformedBlob', () => cp.unwrap(blobs[0]!.map((b, i) => (i === 30 ? b ^ 1 : b))));
    refused('keyPartOrder', () => cp.loadNewKeyPart('first', newParts[0]!));
    refused('notUncommitted', () => cp.commitNew());
    cp.setMasterKey();
    show();
    refused('wkidMismatch', () => cp.unwrap(blobs[0]!));
    cp.active = false;
    refused('inactive', () => cp.unwrap(moved[0]!));
    cp.active = true;
    for (const e of errorsSeen)
      texts.push(e.message, String(e), e.stack ?? '', util.inspect(e), JSON.stringify(e));
    assert.ok(errorsSeen.length > 40, `searched ${errorsSeen.length} error messages`);
    assert.ok(
      texts.some((t) => t.includes(cp.cur.mkvp!)),
      'the views do show MKVPs',
    );
    const all = texts.join('\n');
    secrets.forEach((secret, i) =>
      assert.ok(!shows(all, secret), `secret ${i} appears in the output`),
    );
  });
});
