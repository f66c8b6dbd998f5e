//! Maps storage keys (log names, segment and record keys: any non-empty string, `/` allowed) to
//! relative file paths and back, so that no key can escape its folder, collide with another key,
//! or depend on the file system's case sensitivity.
//!
//!   key "db1/Root.x"  ->  "db1/%52oot%2Ex.record"      (suffix given by the caller)
//!
//! - The key is split at `/`; each part becomes one directory level, the last part the file name.
//!   Listing a prefix then walks only the folder of the prefix's complete parts.
//! - Within a part, every UTF-8 byte outside `a-z 0-9 _ -` is written `%XX`. So a name never holds
//!   `.` (no `.`/`..`, and the `.suffix` of a file never clashes with a folder of the same part),
//!   never an upper-case letter (case-insensitive file systems keep keys apart), and `~` is free to
//!   mark continuations. An empty part is written `%` (a lone `%` is never an escape).
//! - A part longer than 200 characters once encoded is cut into 200-character pieces; every piece
//!   but the last is a folder whose name ends in `~` (file names are limited to 255 bytes).

import { AssertionError } from '../../util/assert.ts';

const safeByte = /^[a-z0-9_-]$/;
const partLengthMax = 200;
const continuation = '~';
const emptyPart = '%';

function encodePart(part: string): string {
  if (part.length === 0) return emptyPart;
  let encoded = '';
  for (const byte of Buffer.from(part, 'utf8')) {
    const character = String.fromCharCode(byte);
    encoded += safeByte.test(character) ? character : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

function decodePart(encoded: string): string {
  if (encoded === emptyPart) return '';
  const bytes: number[] = [];
  for (let index = 0; index < encoded.length; index++) {
    if (encoded[index] === '%') {
      bytes.push(Number.parseInt(encoded.slice(index + 1, index + 3), 16));
      index += 2;
    } else {
      bytes.push(encoded.charCodeAt(index));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The file-system names of one encoded part: continuation folders, then the last piece. */
function splitPart(encoded: string): string[] {
  const pieces: string[] = [];
  for (let start = 0; start < encoded.length; start += partLengthMax) {
    pieces.push(encoded.slice(start, start + partLengthMax));
  }
  return pieces.map((piece, index) => (index < pieces.length - 1 ? piece + continuation : piece));
}

/** The relative path (with `/`) of the folder holding the parts `parts`. */
function folderOf(parts: readonly string[]): string {
  return parts.flatMap((part) => splitPart(encodePart(part))).join('/');
}

/** The relative path of the file for `key`, its file name ending in `suffix` (which must start with `.`). */
export function keyToPath(key: string, suffix: string): string {
  if (!suffix.startsWith('.')) throw new AssertionError(`key suffix ${suffix} must start with a dot`);
  return folderOf(key.split('/')) + suffix;
}

/** The key of a relative path made by `keyToPath`, or null when the path is not one (e.g. a temporary file). */
export function pathToKey(relativePath: string, suffix: string): string | null {
  if (!relativePath.endsWith(suffix)) return null;
  const names = relativePath.slice(0, relativePath.length - suffix.length).split('/');
  const parts: string[] = [];
  let pending = '';
  for (const name of names) {
    if (name.endsWith(continuation)) {
      pending += name.slice(0, -1);
    } else {
      parts.push(pending + name);
      pending = '';
    }
  }
  if (pending !== '' || parts.some((part) => !/^(?:[a-z0-9_-]|%[0-9A-F]{2})+$|^%$/.test(part))) return null;
  return parts.map(decodePart).join('/');
}

/** The relative folder (possibly '') under which every key starting with `prefix` lives. */
export function prefixFolder(prefix: string): string {
  const parts = prefix.split('/');
  return folderOf(parts.slice(0, -1));
}
