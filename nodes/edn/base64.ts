//! Base64 (RFC 4648, standard alphabet, with padding) for `#factum/bytes` literals. Written here
//! rather than with Buffer so that the reader runs anywhere, and strict: Buffer silently skips
//! characters outside the alphabet, which would turn a typo into different bytes.

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const sextets = new Int16Array(128).fill(-1);
for (let i = 0; i < alphabet.length; i++) sextets[alphabet.charCodeAt(i)] = i;

function sextet(text: string, index: number): number {
  const code = text.charCodeAt(index);
  return code < 128 ? sextets[code]! : -1;
}

/** The bytes that `text` encodes, or null when it is not canonical padded base64. */
export function decodeBase64(text: string): Uint8Array | null {
  if (text.length % 4 !== 0) return null;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const bytes = new Uint8Array((text.length / 4) * 3 - padding);
  let out = 0;
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    const a = sextet(text, i);
    const b = sextet(text, i + 1);
    const c = last && padding === 2 ? 0 : sextet(text, i + 2);
    const d = last && padding >= 1 ? 0 : sextet(text, i + 3);
    if ((a | b | c | d) < 0) return null;
    const group = (a << 18) | (b << 12) | (c << 6) | d;
    bytes[out++] = group >>> 16;
    if (out < bytes.length) bytes[out++] = (group >>> 8) & 0xff;
    if (out < bytes.length) bytes[out++] = group & 0xff;
    // Bits beyond the last byte must be zero, so that each byte string has one text.
    if (last && padding > 0 && (group & (padding === 2 ? 0xffff : 0xff)) !== 0) return null;
  }
  return bytes;
}

export function encodeBase64(bytes: Uint8Array): string {
  let text = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const group = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    text += alphabet[group >>> 18]! + alphabet[(group >>> 12) & 63]! + alphabet[(group >>> 6) & 63]! + alphabet[group & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const group = bytes[i]! << 16;
    text += alphabet[group >>> 18]! + alphabet[(group >>> 12) & 63]! + '==';
  } else if (rest === 2) {
    const group = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    text += alphabet[group >>> 18]! + alphabet[(group >>> 12) & 63]! + alphabet[(group >>> 6) & 63]! + '=';
  }
  return text;
}
