// The entries the crash child writes: each carries its own label, from which its bytes can be
// generated again, so the parent can check any entry it finds is complete and byte-exact.
import { seededRandom } from '../../nodes/storage/fault.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function hashOf(text: string): number {
  let hash = 2166136261;
  for (let index = 0; index < text.length; index++) hash = Math.imul(hash ^ text.charCodeAt(index), 16777619);
  return hash >>> 0;
}

/** `label`, a newline, then filler of a size between 0 and ~200 KB determined by the label. */
export function entryBytes(label: string): Uint8Array {
  const random = seededRandom(hashOf(label));
  const roll = random();
  const fillerLength = roll < 0.05 ? Math.floor(random() * 200_000) : roll < 0.5 ? Math.floor(random() * 8000) : Math.floor(random() * 300);
  const head = encoder.encode(`${label}\n`);
  const bytes = new Uint8Array(head.length + fillerLength);
  bytes.set(head);
  for (let index = head.length; index < bytes.length; index++) bytes[index] = Math.floor(random() * 256);
  return bytes;
}

/** The label of bytes made by `entryBytes`, or null when they are not such bytes. */
export function labelOf(bytes: Uint8Array): string | null {
  const newline = bytes.indexOf(10);
  if (newline < 0) return null;
  const label = decoder.decode(bytes.subarray(0, newline));
  const expected = entryBytes(label);
  return Buffer.compare(expected, bytes) === 0 ? label : null;
}
