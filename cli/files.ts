// Reading and writing the CLI's files: whole or not at all, with errors that name the flag and file.
// A trace to check is read as a stream instead (readLines), a line at a time.
// An output (--trace, --summary) is checked before the run, then written through a temporary file
// in its own directory and renamed over it: never a device, a FIFO, a directory or a symlink.
// The trace is streamed into its temporary file as the run emits it (OutputStream), so that it is
// never held in memory; a run that fails midway removes the temporary file and leaves the old one.
import {
  accessSync,
  closeSync,
  constants,
  createReadStream,
  fstatSync,
  lstatSync,
  open,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { Socket } from 'node:net';
import { promisify } from 'node:util';
import { dirname, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { UsageError } from './options.ts';

const code = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

function what(s: Stats): string {
  return s.isFile()
    ? 'a file'
    : s.isDirectory()
      ? 'a directory'
      : s.isSymbolicLink()
        ? 'a symbolic link'
        : s.isFIFO()
          ? 'a FIFO'
          : s.isCharacterDevice()
            ? 'a character device'
            : s.isBlockDevice()
              ? 'a block device'
              : 'a socket';
}

/** The path's status (of itself, or with `follow` of what a symlink names); undefined if nothing is there. */
function status(flag: string, path: string, follow = false): Stats | undefined {
  try {
    return follow ? statSync(path) : lstatSync(path);
  } catch (e) {
    if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') return undefined; // (a folder on the way is a file: said below)
    throw new UsageError(`${flag} ${path}: ${code(e)}`);
  }
}

/** Throws unless `path` is missing or a regular file: the only things a write may replace. */
function replaceable(flag: string, path: string): void {
  const s = status(flag, path);
  if (s && !s.isFile())
    throw new UsageError(`${flag} ${path} is ${what(s)}, not a regular file; name a file to write`);
}

/** The nearest folder of `dir` that exists (itself, if it does) is a directory this process may write in. */
function writableFolder(flag: string, path: string, dir: string): void {
  let at = resolve(dir);
  let s = status(flag, at, true);
  while (!s) {
    at = dirname(at);
    s = status(flag, at, true);
  }
  if (!s.isDirectory())
    throw new UsageError(`${flag} ${path}: ${at} is ${what(s)}, not a directory`);
  try {
    accessSync(at, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw new UsageError(`${flag} ${path}: cannot write in ${at}: ${code(e)}`);
  }
}

/**
 * Before the run: `path` can be written (it is missing or a regular file, in a directory that is
 * there or can be made), so a run is never lost to an unusable output.
 */
export function checkOutput(flag: string, path: string): void {
  if (path === '' || path.endsWith('/'))
    throw new UsageError(`${flag} '${path}' is not a file name`);
  replaceable(flag, path);
  writableFolder(flag, path, dirname(path));
}

/** Before writing into `dir` (made if missing): it is a directory, or can be made one. */
export function outputDirectory(flag: string, dir: string): void {
  const s = status(flag, dir, true);
  if (s && !s.isDirectory())
    throw new UsageError(`${flag} ${dir} is not a directory (it is ${what(s)})`);
  writableFolder(flag, dir, dir);
}

/** Text buffered before a write to the file (one system call per this many characters). */
const BUFFER = 1 << 20;

/**
 * An output written as it is made: into a temporary file beside `path` (made at the first write),
 * renamed over `path` by `finish`. Until then `path` is untouched; `abandon` (a no-op after
 * `finish`) removes the temporary file.
 */
export class OutputStream {
  readonly #flag: string;
  readonly #path: string;
  readonly #temp: string;
  #fd: number | null = null;
  #created = false; // the temporary file is there
  #buffer: string[] = [];
  #buffered = 0;
  #done = false;

  constructor(flag: string, path: string) {
    this.#flag = flag;
    this.#path = path;
    this.#temp = `${path}.${process.pid}.tmp`;
  }

  write(text: string): void {
    this.#buffer.push(text);
    this.#buffered += text.length;
    if (this.#buffered >= BUFFER) this.#flush();
  }

  /** Writes what is buffered, closes the temporary file and renames it over `path`. */
  finish(): void {
    this.#flush();
    this.#guard(() => {
      closeSync(this.#fd!);
      this.#fd = null;
      replaceable(this.#flag, this.#path); // again: it may have changed during the run
      renameSync(this.#temp, this.#path);
      this.#created = false;
    });
    this.#done = true;
  }

  /** Removes the temporary file unless `finish` renamed it. */
  abandon(): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
    if (this.#created) rmSync(this.#temp, { force: true });
  }

  #flush(): void {
    this.#guard(() => {
      if (this.#fd === null) {
        mkdirSync(dirname(this.#path), { recursive: true });
        this.#fd = openSync(this.#temp, 'wx'); // never through something already there
        this.#created = true;
      }
      const bytes = Buffer.from(this.#buffer.join(''));
      for (let at = 0; at < bytes.length;) at += writeSync(this.#fd, bytes, at);
    });
    this.#buffer = [];
    this.#buffered = 0;
  }

  /** Runs a file operation; an error becomes a one-line UsageError naming the flag and file. */
  #guard(f: () => void): void {
    try {
      f();
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`${this.#flag}: cannot write ${this.#path}: ${code(e)}`);
    }
  }
}

/** Writes `text` to `path` through a temporary file and a rename: the whole file or, on error, nothing. */
export function writeOutput(flag: string, path: string, text: string): void {
  const out = new OutputStream(flag, path);
  try {
    out.write(text);
    out.finish();
  } finally {
    out.abandon();
  }
}

/**
 * The lines of a file, or of standard input (`-`), as they arrive: split at each `\n` (a last
 * line without one counts too), read in chunks and never held whole, so a trace of any length can
 * be checked, and a line is seen before its writer has written the next. An unreadable file is a
 * UsageError naming it. Stopping early (a bad line) closes the file.
 */
export async function* readLines(path: string): AsyncGenerator<string> {
  let input: Readable;
  if (path === '-') input = process.stdin;
  else {
    try {
      // a FIFO's open waits for its writer; it is read as a pipe, since a pending read of a file
      // stream would keep the process waiting for that writer after a bad line stopped the check
      const fd = await promisify(open)(path, 'r');
      input = fstatSync(fd).isFIFO()
        ? new Socket({ fd, readable: true, writable: false })
        : createReadStream('', { fd });
    } catch (e) {
      throw new UsageError(`cannot read ${path}: ${code(e)}`);
    }
  }
  input.setEncoding('utf8');
  let rest = '';
  try {
    for await (const chunk of input as AsyncIterable<string>) {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      yield* lines;
    }
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${code(e)}`);
  } finally {
    input.destroy();
  }
  if (rest !== '') yield rest;
}

export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${code(e)}`);
  }
}
