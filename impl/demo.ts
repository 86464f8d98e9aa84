// `npm start` (until the CLI exists): a short run of the simulated coprocessor. It loads a
// current and a new P11 master key in key parts, wraps a few secure keys, rewraps them from
// `cur` to `new`, sets the master key, and shows MKVPs and KCVs before and after; never keys.
import { randomBytes } from 'node:crypto';
import { Coprocessor, CoprocessorError, MASTER_KEY_BYTES, blobMkvp } from './coprocessor.ts';

/** Enter a master key into `new` as a TKE does, in `count` random key parts. */
function loadNewMasterKey(cp: Coprocessor, count: number): void {
  for (let i = 0; i < count; i++) {
    const part = randomBytes(MASTER_KEY_BYTES); // in life, typed in by a key officer
    cp.loadNewKeyPart(i === 0 ? 'first' : i === count - 1 ? 'last' : 'middle', part);
    part.fill(0);
    console.log(`  part ${i + 1} of ${count} loaded: new ${cp.new.status}, MKVP ${cp.new.mkvp ?? '(not yet)'}`);
  }
  cp.commitNew();
  console.log(`  committed: ${cp}`);
}

const cp = new Coprocessor('SYSA.CP0');
console.log(`${cp}\n\nFirst master key, three parts:`);
loadNewMasterKey(cp, 3);
cp.setMasterKey();
console.log(`  set: ${cp}\n`);

const secureKeys = [
  { label: 'AES-128 data key', value: randomBytes(16) },
  { label: 'AES-256 data key', value: randomBytes(32) },
  { label: 'HMAC key (64 bytes)', value: randomBytes(64) },
];
const blobs = secureKeys.map(({ value }) => cp.wrap(value));
for (const { value } of secureKeys) value.fill(0); // only the blobs remain
console.log('Secure keys wrapped under cur:');
blobs.forEach((blob, i) => console.log(`  ${secureKeys[i]!.label.padEnd(20)} blob under ${blobMkvp(blob)}  KCV ${cp.keyCheckValue(blob)}`));

console.log('\nNew master key, two parts:');
loadNewMasterKey(cp, 2);
const rewrapped = blobs.map((blob) => cp.rewrap(blob));
cp.setMasterKey();
console.log(`  rewrapped ${rewrapped.length} blobs and set the master key: ${cp}\n`);

console.log('After the change:');
rewrapped.forEach((blob, i) => console.log(`  ${secureKeys[i]!.label.padEnd(20)} blob under ${blobMkvp(blob)}  KCV ${cp.keyCheckValue(blob)}`));
try {
  cp.unwrap(blobs[0]!);
} catch (e) {
  if (!(e instanceof CoprocessorError)) throw e;
  console.log(`\nAn old blob is refused (${e.code}): ${e.message}`);
}
