//! Escaping of segment keys into S3 object keys.
//!
//! S3 accepts any UTF-8 key, but emulators that keep objects as files (s3rver) map `/`-separated
//! parts to directories, where `..`, `.` and empty parts would escape or collide. So every
//! character other than `A-Z a-z 0-9 _ -` becomes `%XX` per UTF-8 byte, and `/` stays only where it
//! does not start the key or follow another `/`. Each character's escape depends only on itself and
//! the character before it, so escaping keeps prefixes both ways:
//!   key.startsWith(prefix)  <=>  escape(key).startsWith(escape(prefix))
//! which lets `listSegments(prefix)` be one S3 listing by the escaped prefix.

import { fail } from '../../util/errors.ts';

const plain = /[A-Za-z0-9_-]/;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function percent(character: string): string {
  let escaped = '';
  for (const byte of encoder.encode(character)) escaped += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return escaped;
}

export function escapeObjectKey(key: string): string {
  let escaped = '';
  let previous = '/';
  for (const character of key) {
    if (plain.test(character) || (character === '/' && previous !== '/')) escaped += character;
    else escaped += percent(character);
    previous = character;
  }
  return escaped;
}

export function unescapeObjectKey(escaped: string): string {
  const bytes: number[] = [];
  for (let index = 0; index < escaped.length; ) {
    if (escaped[index] === '%') {
      const byte = Number.parseInt(escaped.slice(index + 1, index + 3), 16);
      if (Number.isNaN(byte)) fail('storage/corrupt', `S3 object key ${JSON.stringify(escaped)} has a bad escape; expected %XX`, { escaped });
      bytes.push(byte);
      index += 3;
    } else {
      bytes.push(...encoder.encode(escaped[index]));
      index += 1;
    }
  }
  try {
    return decoder.decode(Uint8Array.from(bytes));
  } catch {
    return fail('storage/corrupt', `S3 object key ${JSON.stringify(escaped)} is not escaped UTF-8`, { escaped });
  }
}
