// Reading and writing the CLI's files: whole or not at all, with errors that name the flag and file.
// An output (--trace, --summary) is checked before the run, then written through a temporary file
// in its own directory and renamed over it: never a device, a FIFO, a directory or a symlink.
import {
  accessSync,
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
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

/** Writes `text` to `path` through a temporary file and a rename: the whole file or, on error, nothing. */
export function writeOutput(flag: string, path: string, text: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  let created = false;
  try {
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(temp, 'wx'); // never through something already there
    created = true;
    try {
      writeFileSync(fd, text);
    } finally {
      closeSync(fd);
    }
    replaceable(flag, path); // again: it may have changed during the run
    renameSync(temp, path);
    created = false;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${flag}: cannot write ${path}: ${code(e)}`);
  } finally {
    if (created) rmSync(temp, { force: true });
  }
}

export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${code(e)}`);
  }
}
