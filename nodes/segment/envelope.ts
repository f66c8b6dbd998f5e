//! The envelope of every segment: a fixed header, then the compressed body.
//!
//!   offset  size  field
//!   0       4     magic "FSEG"
//!   4       1     format version (1)
//!   5       1     kind: 1 leaf, 2 branch
//!   6       1     compression: 0 none, 1 deflate (raw), 2 brotli
//!   7       1     reserved, 0
//!   8       4     body length before compression (uint32 little-endian)
//!   12      4     CRC-32 of the body before compression
//!   16      …     the body, compressed
//!
//! A segment's address is the SHA-256 (hex) of all its bytes, so the address is also a checksum
//! of what storage holds, and the CRC checks the decompressed body. `openSegment` checks both, and
//! every field, before anyone sees the body: a segment that fails any check is `storage/corrupt`
//! naming its address, never a wrong answer.
import { createHash } from 'node:crypto';
import { brotliCompressSync, brotliDecompressSync, constants, crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { FactumError } from '../util/errors.ts';

export type SegmentKind = 'leaf' | 'branch';
export type Compression = 'none' | 'deflate' | 'brotli';

const MAGIC = [0x46, 0x53, 0x45, 0x47]; // "FSEG"
const VERSION = 1;
export const HEADER_BYTES = 16;
/** No body is larger: a leaf of thousands of datoms is tens of KiB; this bounds a corrupt length. */
export const SEGMENT_BODY_MAX = 64 * 1024 * 1024;

const kindCodes: Record<SegmentKind, number> = { leaf: 1, branch: 2 };
const compressionCodes: Record<Compression, number> = { none: 0, deflate: 1, brotli: 2 };

export interface SealedSegment {
  readonly address: string;
  readonly bytes: Uint8Array;
}

export interface OpenedSegment {
  readonly kind: SegmentKind;
  readonly body: Uint8Array;
}

/** The SHA-256 of `bytes` in lower-case hex: a segment's address. */
export function addressOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function compress(body: Uint8Array, compression: Compression): Uint8Array {
  switch (compression) {
    case 'none':
      return body;
    case 'deflate':
      return deflateRawSync(body, { level: 6 });
    case 'brotli':
      return brotliCompressSync(body, {
        params: { [constants.BROTLI_PARAM_QUALITY]: 2, [constants.BROTLI_PARAM_SIZE_HINT]: body.length },
      });
  }
}

/** Wraps a body: header, compression, and the address of the result. */
export function sealSegment(kind: SegmentKind, body: Uint8Array, compression: Compression): SealedSegment {
  if (body.length > SEGMENT_BODY_MAX) {
    throw new FactumError('value/too-large', `a segment body of ${body.length} bytes exceeds the limit of ${SEGMENT_BODY_MAX}`, { length: body.length });
  }
  const payload = compress(body, compression);
  const bytes = new Uint8Array(HEADER_BYTES + payload.length);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  bytes[4] = VERSION;
  bytes[5] = kindCodes[kind];
  bytes[6] = compressionCodes[compression];
  view.setUint32(8, body.length, true);
  view.setUint32(12, crc32(body), true);
  bytes.set(payload, HEADER_BYTES);
  return { address: addressOf(bytes), bytes };
}

function corrupt(address: string, problem: string): never {
  throw new FactumError('storage/corrupt', `segment ${address} is corrupt: ${problem}`, { key: address });
}

function decompress(address: string, code: number, payload: Uint8Array, length: number): Uint8Array {
  try {
    if (code === 0) return payload;
    if (code === 1) return inflateRawSync(payload, { maxOutputLength: Math.max(1, length) });
    if (code === 2) return brotliDecompressSync(payload, { maxOutputLength: Math.max(1, length) });
  } catch (error) {
    return corrupt(address, `the body does not decompress (${(error as Error).message})`);
  }
  return corrupt(address, `unknown compression ${code}`);
}

/**
 * The kind and body of a segment read from storage under `address`. Checks, in order: the bytes
 * hash to the address, the header, the body's length and CRC.
 */
export function openSegment(address: string, bytes: Uint8Array): OpenedSegment {
  if (addressOf(bytes) !== address) corrupt(address, 'its bytes do not hash to its address');
  if (bytes.length < HEADER_BYTES) corrupt(address, `${bytes.length} bytes, shorter than the ${HEADER_BYTES}-byte header`);
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC[i]) corrupt(address, 'it does not start with "FSEG"');
  if (bytes[4] !== VERSION) corrupt(address, `format version ${bytes[4]}, expected ${VERSION}`);
  const kind = bytes[5] === 1 ? 'leaf' : bytes[5] === 2 ? 'branch' : corrupt(address, `unknown kind ${bytes[5]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(8, true);
  if (length > SEGMENT_BODY_MAX) corrupt(address, `a body length of ${length} bytes`);
  const body = decompress(address, bytes[6]!, bytes.subarray(HEADER_BYTES), length);
  if (body.length !== length) corrupt(address, `the body has ${body.length} bytes, the header says ${length}`);
  if (crc32(body) !== view.getUint32(12, true)) corrupt(address, 'the CRC-32 of the body does not match');
  return { kind, body };
}

/** True when `bytes` hash to `address`: the cheap check a cache level makes before serving a file. */
export function matchesAddress(address: string, bytes: Uint8Array): boolean {
  return addressOf(bytes) === address;
}
