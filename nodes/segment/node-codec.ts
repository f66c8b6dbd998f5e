//! Tree nodes as segments: a leaf's body is its keys' columns; a branch's body is
//!
//!   uint height | uint n | n × (32-byte address, uint count) | the n first keys, as key columns
//!   | byte 1 | the n last keys, as key columns
//!
//! The last keys (with their byte 1) are absent when a child's reference has none (a subtree
//! written before they were recorded); a branch written before them ends after the first keys.
//!
//! `nodeCodec` is generic over the key columns, so the datom trees and any other tree share it.
import type { BranchNode, ChildRef, TreeNode } from '../btree/durable-tree.ts';
import { Reader, Writer } from '../values/codec.ts';
import { FactumError } from '../util/errors.ts';
import { AssertionError } from '../util/assert.ts';
import { openSegment, sealSegment, type Compression, type SealedSegment } from './envelope.ts';

export interface KeyColumns<K> {
  write(writer: Writer, keys: readonly K[]): void;
  read(reader: Reader, address: string): K[];
  /** True when a decoded key is the key that was written (the check `encode` makes on branches). */
  same(decoded: K, written: K): boolean;
  /**
   * `read`, compared with the keys written as it goes (null when all come back, else what
   * differs), without building keys: the check `encode` makes on leaves.
   */
  check(reader: Reader, keys: readonly K[]): string | null;
  /** Approximate bytes one decoded key holds in memory, for the byte-bounded cache. */
  readonly keyBytes: number;
}

export interface NodeCodec<K> {
  /**
   * The node as a segment, checked before anyone writes it: the body is decoded again and must
   * give back the same keys (and children), else an AssertionError (a bug in the encoder, caught
   * before it becomes a segment no one can read).
   */
  encode(node: TreeNode<K>): SealedSegment;
  /** The node stored under `address`; `storage/corrupt` when the bytes are not one. */
  decode(address: string, bytes: Uint8Array): TreeNode<K>;
  /** Approximate bytes a decoded node holds in memory. */
  sizeOf(node: TreeNode<K>): number;
}

const ADDRESS_BYTES = 32;
const HEX = /^[0-9a-f]{64}$/;

function corrupt(address: string, problem: string): never {
  throw new FactumError('storage/corrupt', `segment ${address} is corrupt: ${problem}`, { key: address });
}

function writeBranch<K>(writer: Writer, node: BranchNode<K>, columns: KeyColumns<K>): void {
  writer.uint(node.height);
  writer.uint(node.children.length);
  for (const child of node.children) {
    if (!HEX.test(child.address)) throw new Error(`a child address must be 64 hex digits, got ${child.address}`);
    writer.raw(Buffer.from(child.address, 'hex'));
    writer.uint(child.count);
  }
  columns.write(writer, node.children.map((child) => child.firstKey));
  if (node.children.every((child) => child.lastKey !== undefined)) {
    writer.byte(1);
    columns.write(writer, node.children.map((child) => child.lastKey!));
  }
}

function readBranch<K>(reader: Reader, address: string, columns: KeyColumns<K>): BranchNode<K> {
  const height = reader.uint();
  if (height < 1 || height > 64) corrupt(address, `a branch of height ${height}`);
  const n = reader.uint();
  if (n * (ADDRESS_BYTES + 1) > reader.remaining) corrupt(address, `a count of ${n} children exceeds the bytes left`);
  const refs: Array<{ address: string; count: number }> = [];
  for (let i = 0; i < n; i++) {
    const child = Buffer.from(reader.raw(ADDRESS_BYTES)).toString('hex');
    const count = reader.uint();
    if (count === 0) corrupt(address, `child ${i} holds no keys`);
    refs.push({ address: child, count });
  }
  const firstKeys = columns.read(reader, address);
  if (firstKeys.length !== n) corrupt(address, `${firstKeys.length} first keys for ${n} children`);
  if (reader.done) return { kind: 'branch', height, children: refs.map((ref, i) => ({ address: ref.address, count: ref.count, firstKey: firstKeys[i]! })) };
  const form = reader.byte();
  if (form !== 1) corrupt(address, `unknown form ${form} after the first keys`);
  const lastKeys = columns.read(reader, address);
  if (lastKeys.length !== n) corrupt(address, `${lastKeys.length} last keys for ${n} children`);
  const children: ChildRef<K>[] = refs.map((ref, i) => ({ address: ref.address, count: ref.count, firstKey: firstKeys[i]!, lastKey: lastKeys[i]! }));
  return { kind: 'branch', height, children };
}

/** Decodes a body just encoded and compares it with the node it came from. */
function checkBody<K>(node: TreeNode<K>, body: Uint8Array, columns: KeyColumns<K>): void {
  const reader = new Reader(body);
  const mismatch = (what: string): never => {
    throw new AssertionError(`the segment encoder is wrong: a ${node.kind} decodes with ${what}, not as encoded; nothing was written`);
  };
  let problem: string | null;
  try {
    problem = node.kind === 'leaf' ? columns.check(reader, node.keys) : branchProblem(node, readBranch(reader, '(a segment being written)', columns), columns);
  } catch (error) {
    return mismatch(`a decoding error (${(error as Error).message})`);
  }
  if (problem !== null) mismatch(problem);
  if (!reader.done) mismatch('bytes left over');
}

/** What differs between a branch and the branch its encoding decodes to, or null. */
function branchProblem<K>(written: BranchNode<K>, decoded: BranchNode<K>, columns: KeyColumns<K>): string | null {
  if (decoded.height !== written.height || decoded.children.length !== written.children.length) return 'its height or child count';
  const allLast = (children: readonly ChildRef<K>[]): boolean => children.every((child) => child.lastKey !== undefined);
  if (allLast(decoded.children) !== allLast(written.children)) return 'its last keys';
  for (let i = 0; i < decoded.children.length; i++) {
    const [x, y] = [decoded.children[i]!, written.children[i]!];
    if (x.address !== y.address || x.count !== y.count || !columns.same(x.firstKey, y.firstKey)) return `child ${i}`;
    if (x.lastKey !== undefined && !columns.same(x.lastKey, y.lastKey!)) return `the last key of child ${i}`;
  }
  return null;
}

export function nodeCodec<K>(columns: KeyColumns<K>, compression: Compression): NodeCodec<K> {
  return {
    encode(node) {
      const writer = new Writer(64 * 1024);
      if (node.kind === 'leaf') columns.write(writer, node.keys);
      else writeBranch(writer, node, columns);
      const body = writer.finish();
      checkBody(node, body, columns);
      return sealSegment(node.kind, body, compression);
    },
    decode(address, bytes) {
      const { kind, body } = openSegment(address, bytes);
      const reader = new Reader(body);
      const node: TreeNode<K> = kind === 'leaf' ? { kind, keys: columns.read(reader, address) } : readBranch(reader, address, columns);
      if (!reader.done) corrupt(address, `${reader.remaining} bytes after the node`);
      return node;
    },
    sizeOf(node) {
      const keys = node.kind === 'leaf' ? node.keys.length : node.children.length;
      return 256 + keys * (node.kind === 'leaf' ? columns.keyBytes : 2 * columns.keyBytes + 120);
    },
  };
}
