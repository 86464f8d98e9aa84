// The seed text's fingerprints (specs/support/seed-text.ts) are those of the real seed text.
// Like the vector suite, it reads a file that a fresh clone does not have, named by SEED_TEXT;
// .ci/run sets it. It fails, never skips, when the file cannot be read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SEED_FINGERPRINTS, fingerprint, seedSentences } from '../support/seed-text.ts';

test('the seed text fingerprints are those of the sentences of $SEED_TEXT, in order', () => {
  const path = process.env.SEED_TEXT;
  assert.ok(
    path,
    'SEED_TEXT must name the seed text file (../shared/reference/seed-coordinated-tkds-cmk.txt)',
  );
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    assert.fail(`cannot read SEED_TEXT=${path}: ${(e as Error).message}`);
  }
  assert.deepEqual(seedSentences(text).map(fingerprint), [...SEED_FINGERPRINTS]);
});
