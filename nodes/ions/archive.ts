//! A revision's archive: the application's bundle (one ES module) and its configuration, in one
//! deterministic byte string. The same bundle and config always give the same bytes (the config is
//! written as JSON with its keys sorted; there is no timestamp, path or compression setting in it),
//! so a revision pushed twice from the same sources is byte for byte the same revision.
//!
//!   offset  size  field
//!   0       8     magic "FACTUMIR" (factum ion revision)
//!   8       1     format version (1)
//!   9       4     config length, bytes (big-endian)
//!   13      4     bundle length, bytes (big-endian)
//!   17      32    SHA-256 of everything after this field (config then bundle)
//!   49      …     config: UTF-8 JSON, keys sorted
//!   …       …     bundle: UTF-8 JavaScript
//!
//! `unpackRevision` checks every field, the digest and the config's shape before it returns; a
//! truncated, padded, corrupted or foreign archive fails with 'ion/invalid-revision'.
import { createHash } from 'node:crypto';
import { FactumError } from '../util/errors.ts';
import type { IonConfig } from './revision.ts';
import { validateConfig } from '../../ions/config.ts';

const MAGIC = Buffer.from('FACTUMIR', 'latin1');
const VERSION = 1;
const DIGEST_BYTES = 32;
const HEADER_BYTES = MAGIC.length + 1 + 4 + 4 + DIGEST_BYTES;
/** The largest archive: a bundle far beyond any reasonable application (its thread loads it whole). */
export const ARCHIVE_BYTES_MAX = 256 * 1024 * 1024;

export interface RevisionContents {
  readonly bundle: string;
  readonly config: IonConfig;
}

/** JSON with every object's keys sorted, so equal values always give equal text. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return item;
    const record = item as Record<string, unknown>;
    return Object.fromEntries(Object.keys(record).sort().map((key) => [key, record[key]]));
  });
}

/** The archive of a bundle and its config (deterministic bytes). */
export function packRevision({ bundle, config }: RevisionContents): Uint8Array {
  const configBytes = Buffer.from(canonicalJson(config), 'utf8');
  const bundleBytes = Buffer.from(bundle, 'utf8');
  const archive = Buffer.alloc(HEADER_BYTES + configBytes.length + bundleBytes.length);
  MAGIC.copy(archive, 0);
  archive.writeUInt8(VERSION, 8);
  archive.writeUInt32BE(configBytes.length, 9);
  archive.writeUInt32BE(bundleBytes.length, 13);
  configBytes.copy(archive, HEADER_BYTES);
  bundleBytes.copy(archive, HEADER_BYTES + configBytes.length);
  createHash('sha256').update(archive.subarray(HEADER_BYTES)).digest().copy(archive, 17);
  if (archive.length > ARCHIVE_BYTES_MAX) {
    throw new FactumError('ion/invalid-revision', `the revision's archive is ${archive.length} bytes; expected at most ${ARCHIVE_BYTES_MAX}. Is something large bundled by mistake (a data file imported as a module)?`, { bytes: archive.length, bytesMax: ARCHIVE_BYTES_MAX });
  }
  return new Uint8Array(archive.buffer, archive.byteOffset, archive.length);
}

function malformed(problem: string, data: Record<string, unknown> = {}): FactumError {
  return new FactumError('ion/invalid-revision', `the revision's archive is malformed: ${problem}. Push the revision again with \`factum ions push\`.`, data);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The bundle and config of an archive, checked; throws 'ion/invalid-revision' on anything malformed. */
export function unpackRevision(bytes: Uint8Array): RevisionContents {
  const archive = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (archive.length < HEADER_BYTES) throw malformed(`${archive.length} bytes, shorter than its ${HEADER_BYTES}-byte header`, { bytes: archive.length });
  if (!archive.subarray(0, MAGIC.length).equals(MAGIC)) throw malformed('it does not start with "FACTUMIR" (not a factum ion revision)', { magic: archive.subarray(0, MAGIC.length).toString('hex') });
  const version = archive.readUInt8(8);
  if (version !== VERSION) throw malformed(`format version ${version}; expected ${VERSION} (pushed by another version of factum?)`, { version });
  const configLength = archive.readUInt32BE(9);
  const bundleLength = archive.readUInt32BE(13);
  const expected = HEADER_BYTES + configLength + bundleLength;
  if (archive.length !== expected) throw malformed(`${archive.length} bytes where its header says ${expected}`, { bytes: archive.length, expected });
  const digest = createHash('sha256').update(archive.subarray(HEADER_BYTES)).digest();
  if (!digest.equals(archive.subarray(17, HEADER_BYTES))) throw malformed('its SHA-256 does not match its contents (corrupted)', { sha256: digest.toString('hex') });
  let configText: string;
  let bundle: string;
  try {
    configText = utf8.decode(archive.subarray(HEADER_BYTES, HEADER_BYTES + configLength));
    bundle = utf8.decode(archive.subarray(HEADER_BYTES + configLength));
  } catch {
    throw malformed('its text is not UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(configText);
  } catch (error) {
    throw malformed(`its config is not JSON (${(error as Error).message})`);
  }
  try {
    return { bundle, config: validateConfig(parsed, 'the archive\'s config') };
  } catch (error) {
    throw malformed((error as Error).message, { problems: (error as FactumError).data?.problems });
  }
}
