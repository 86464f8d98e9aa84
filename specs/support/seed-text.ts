// The seed text (../shared/reference/seed-coordinated-tkds-cmk.txt) is not in the repository: a
// fresh clone does not have it. Its sentences are known here by fingerprint (the first 16 hex
// digits of the SHA-256 of each sentence), so `npm test` can check that the traceability tables
// of docs/protocol.md quote every one; specs/vectors/seed-text.test.ts checks these fingerprints
// against the text itself, where CI has it.
import { createHash } from 'node:crypto';

export const SEED_FINGERPRINTS = [
  'a39f3c553dea4060',
  '4e88a6ff8ae45bd9',
  'b5b24b49d87896d3',
  '32db322d9e1e3298',
  'a8741ed19f31e01b',
  '50d675e482bb6f15',
  'af1bb49798b069e8',
  '4d82d7d878d4ab1e',
  'c27dd55c84ed34c3',
  'c8224acb1b6b8ea9',
  'e8d0a4cfff2bf22d',
  'c1f0d697b569a43f',
  '142f073fb2d32361',
  '3e4865e253308ad7',
  'b28f642833f23e3b',
] as const;

export function fingerprint(sentence: string): string {
  return createHash('sha256').update(sentence).digest('hex').slice(0, 16);
}

/** Sentences of a text, white space folded; a note's number ("1.") is not a sentence. */
export function sentences(text: string): string[] {
  return text
    .replace(/\s+/g, ' ')
    .trim()
    .split(/(?<=\.)\s+(?=[A-Z0-9])/)
    .filter((s) => !/^\d\.$/.test(s));
}

/** The seed file's sentences: without its title line, the "Note:" heading and the closing "See ...". */
export function seedSentences(file: string): string[] {
  return sentences(
    file
      .split('\n')
      .slice(1)
      .filter((l) => !/^\s*(Note:|See )/.test(l))
      .join(' '),
  );
}
