import { describe, expect, it } from 'vitest';
import { isFactumError } from '../../nodes/util/errors.ts';
import { decode, encode } from './codec.ts';
import { encodeFrame, FrameReader, frameBytesMaxDefault } from './frames.ts';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (isFactumError(error)) return error.code;
    throw error;
  }
  return 'no error';
}

const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};

const asLists = (frames: readonly Uint8Array[]): number[][] => frames.map((f) => [...f]);

const payloads = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array([9]), new Uint8Array(300).map((_, i) => i & 0xff), new Uint8Array(0)];
const stream = concat(payloads.map(encodeFrame));
const expected = asLists(payloads);

describe('encodeFrame', () => {
  it('writes the length as 4 big-endian bytes, then the payload', () => {
    expect([...encodeFrame(new Uint8Array([7, 8]))]).toStrictEqual([0, 0, 0, 2, 7, 8]);
    expect([...encodeFrame(new Uint8Array(0x0102)).subarray(0, 4)]).toStrictEqual([0, 0, 1, 2]);
    expect([...encodeFrame(new Uint8Array(0))]).toStrictEqual([0, 0, 0, 0]);
  });
});

describe('FrameReader', () => {
  it('reads several frames from one chunk', () => {
    const reader = new FrameReader();
    expect(asLists(reader.push(stream))).toStrictEqual(expected);
    reader.end();
  });

  it('reads the same frames with the stream split in two at every byte position', () => {
    for (let at = 0; at <= stream.length; at++) {
      const reader = new FrameReader();
      const frames = [...reader.push(stream.subarray(0, at)), ...reader.push(stream.subarray(at))];
      expect(asLists(frames), `split at ${at}`).toStrictEqual(expected);
      reader.end();
    }
  });

  it('reads the same frames with the stream split in three at every pair of positions', () => {
    const small = concat([new Uint8Array([1, 2]), new Uint8Array(0), new Uint8Array([3])].map(encodeFrame));
    for (let a = 0; a <= small.length; a++) {
      for (let b = a; b <= small.length; b++) {
        const reader = new FrameReader();
        const frames = [small.subarray(0, a), small.subarray(a, b), small.subarray(b)].flatMap((chunk) => reader.push(chunk));
        expect(asLists(frames), `split at ${a} and ${b}`).toStrictEqual([[1, 2], [], [3]]);
        reader.end();
      }
    }
  });

  it('reads the same frames one byte at a time', () => {
    const reader = new FrameReader();
    const frames: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i++) frames.push(...reader.push(stream.subarray(i, i + 1)));
    expect(asLists(frames)).toStrictEqual(expected);
    reader.end();
  });

  it('frames own their bytes: reusing a chunk afterwards does not change them', () => {
    const chunk = new Uint8Array(encodeFrame(new Uint8Array([5, 6])));
    const [frame] = new FrameReader().push(chunk);
    chunk.fill(0);
    expect([...frame!]).toStrictEqual([5, 6]);
  });

  it('carries codec messages', () => {
    const messages = [{ items: [1, 'two', [3n]] }, { end: true }];
    const reader = new FrameReader();
    const frames = reader.push(concat(messages.map((m) => encodeFrame(encode(m)))));
    expect(frames.map(decode)).toStrictEqual(messages);
  });

  it('end() throws wire/malformed when the stream stops inside a length or inside a frame', () => {
    for (let at = 1; at < stream.length; at++) {
      const reader = new FrameReader();
      reader.push(stream.subarray(0, at));
      const boundary = [0, 7, 11, 16, 320].includes(at); // where a frame ends
      expect(codeOf(() => reader.end()), `stopped at ${at}`).toBe(boundary ? 'no error' : 'wire/malformed');
    }
  });

  it('refuses a frame longer than frameBytesMax as soon as its length is read', () => {
    const reader = new FrameReader(10);
    expect(asLists(reader.push(encodeFrame(new Uint8Array(10))))).toStrictEqual([Array(10).fill(0)]);
    expect(codeOf(() => reader.push(Uint8Array.of(0, 0, 0, 11)))).toBe('wire/malformed');
    expect(() => new FrameReader(10).push(Uint8Array.of(0, 0, 0, 11))).toThrow(/11 bytes is longer than the 10 bytes allowed/);
    // The reader has lost its place in the stream: it keeps refusing.
    expect(codeOf(() => reader.push(Uint8Array.of(1)))).toBe('wire/malformed');
    expect(codeOf(() => reader.end())).toBe('wire/malformed');
  });

  it('refuses a frame longer than 64 MiB by default, without buffering it', () => {
    const reader = new FrameReader();
    expect(reader.frameBytesMax).toBe(frameBytesMaxDefault);
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, frameBytesMaxDefault + 1);
    expect(codeOf(() => reader.push(header))).toBe('wire/malformed');
    const largest = new Uint8Array(4);
    new DataView(largest.buffer).setUint32(0, 0xffffffff);
    expect(codeOf(() => new FrameReader().push(largest))).toBe('wire/malformed');
  });

  it('refuses a frameBytesMax that is not a non-negative integer', () => {
    expect(codeOf(() => new FrameReader(-1))).toBe('wire/malformed');
    expect(codeOf(() => new FrameReader(1.5))).toBe('wire/malformed');
  });
});
