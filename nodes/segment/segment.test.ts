// Segments: round trips of leaves and branches of datoms, and every kind of corruption detected.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Datom } from '../datom/datom.ts';
import { txOfT } from '../datom/datom.ts';
import { arbitraryValue } from '../values/arbitrary.ts';
import { decodeValue, encodeValue } from '../values/codec.ts';
import { BigDec, kw, Uuid } from '../values/values.ts';
import { isFactumError } from '../util/errors.ts';
import { seededRandom } from '../storage/fault.ts';
import { addressOf, HEADER_BYTES, openSegment, sealSegment } from './envelope.ts';
import { datomColumns, datomNodeCodec, DATOM_LEAF_MAX } from './datom-codec.ts';
import { nodeCodec } from './node-codec.ts';
import { AssertionError } from '../util/assert.ts';
import { SegmentDatom } from './datom-columns.ts';
import type { TreeNode } from '../btree/durable-tree.ts';

const codec = datomNodeCodec();

const arbitraryDatom: fc.Arbitrary<Datom> = fc
  .record({
    e: fc.maxSafeNat(),
    a: fc.nat({ max: 100_000 }),
    v: arbitraryValue({ depthMax: 2 }),
    t: fc.nat({ max: 2 ** 40 }),
    added: fc.boolean(),
  })
  .map(({ e, a, v, t, added }) => new SegmentDatom(e, a, v, txOfT(t), added));

function sameDatoms(actual: readonly Datom[], expected: readonly Datom[]): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const [x, y] = [actual[i]!, expected[i]!];
    expect([x.e, x.a, x.tx, x.added]).toEqual([y.e, y.a, y.tx, y.added]);
    expect(Buffer.from(encodeValue(x.v)).equals(encodeValue(y.v)), `value ${i}`).toBe(true);
    if (typeof y.v === 'number') expect(Object.is(x.v, y.v) || Number.isNaN(y.v)).toBe(true);
  }
}

/** People-like datoms of one leaf in EAVT order: a few attributes per entity, repeats, refs. */
function peopleDatoms(n: number, seed: number): Datom[] {
  const random = seededRandom(seed);
  const out: Datom[] = [];
  const names = ['Ivan', 'Petr', 'Sergei', 'Oleg', 'Yuri'];
  for (let e = 4 * 2 ** 42 + 1000; out.length < n; e++) {
    const t = 1000 + Math.floor(random() * 50);
    out.push(new SegmentDatom(e, 70, names[Math.floor(random() * names.length)], txOfT(t), true));
    out.push(new SegmentDatom(e, 71, Math.floor(random() * 100), txOfT(t), true));
    out.push(new SegmentDatom(e, 72, kw(random() < 0.5 ? 'sex/male' : 'sex/female'), txOfT(t), true));
    out.push(new SegmentDatom(e, 73, 4 * 2 ** 42 + Math.floor(random() * 100_000), txOfT(t), true));
  }
  return out.slice(0, n);
}

describe('segments', () => {
  it('round-trips leaves of arbitrary datoms (every value type, -0, NaN, repeats)', () => {
    fc.assert(
      fc.property(fc.array(arbitraryDatom, { maxLength: 40 }), fc.array(fc.nat({ max: 39 })), (datoms, repeatAt) => {
        const keys = datoms.slice();
        for (const i of repeatAt) if (i > 0 && i < keys.length) keys[i] = new SegmentDatom(keys[i]!.e, keys[i]!.a, keys[i - 1]!.v, keys[i]!.tx, keys[i]!.added);
        const sealed = codec.encode({ kind: 'leaf', keys });
        expect(sealed.address).toBe(addressOf(sealed.bytes));
        const node = codec.decode(sealed.address, sealed.bytes);
        expect(node.kind).toBe('leaf');
        if (node.kind === 'leaf') sameDatoms(node.keys, keys);
      }),
      { numRuns: 200, seed: 4 },
    );
    const signed = [0, -0, NaN, -0, -0].map((v, i) => new SegmentDatom(1, 2, v, txOfT(i), true));
    const node = codec.decode(codec.encode({ kind: 'leaf', keys: signed }).address, codec.encode({ kind: 'leaf', keys: signed }).bytes);
    if (node.kind === 'leaf') sameDatoms(node.keys, signed);
  });

  it('checks every segment before it is written: an encoder that loses anything is caught, nothing sealed', () => {
    const keys = [1, 2, 3].map((e) => new SegmentDatom(e, 10, `v${e}`, txOfT(1), true));
    const wrong: Array<(datoms: readonly Datom[]) => Datom[]> = [
      (datoms) => datoms.slice(1), // drops a key
      (datoms) => datoms.map((d, i) => (i === 1 ? new SegmentDatom(d.e, d.a, 'other', d.tx, d.added) : d)), // changes a value
      (datoms) => datoms.map((d) => new SegmentDatom(d.e, d.a, d.v, d.tx, !d.added)), // flips added
      (datoms) => datoms.map((d, i) => (i === 1 ? new SegmentDatom(d.e + 1, d.a, d.v, d.tx, d.added) : d)), // changes an entity
      (datoms) => datoms.map((d, i) => (i === 0 ? new SegmentDatom(d.e, d.a + 1, d.v, d.tx, d.added) : d)), // changes an attribute
      (datoms) => datoms.map((d, i) => (i === 1 ? new SegmentDatom(d.e, d.a, d.v, txOfT(2), d.added) : d)), // changes a tx
      (datoms) => [...datoms, datoms[datoms.length - 1]!], // adds a key
    ];
    for (const bug of wrong) {
      const buggy = nodeCodec<Datom>({ ...datomColumns, write: (writer, datoms) => datomColumns.write(writer, bug(datoms)) }, 'brotli');
      expect(() => buggy.encode({ kind: 'leaf', keys })).toThrow(AssertionError);
      expect(() => buggy.encode({ kind: 'branch', height: 1, children: [{ address: 'a'.repeat(64), count: 3, firstKey: keys[0]! }, { address: 'b'.repeat(64), count: 2, firstKey: keys[1]! }] })).toThrow(/segment encoder is wrong/);
    }
  });

  it('round-trips branches (addresses, counts, first keys, height)', () => {
    const children = peopleDatoms(50, 3).map((firstKey, i) => ({ address: addressOf(new Uint8Array([i])), firstKey, count: i + 1 }));
    const branch: TreeNode<Datom> = { kind: 'branch', height: 2, children };
    const sealed = codec.encode(branch);
    const node = codec.decode(sealed.address, sealed.bytes);
    if (node.kind !== 'branch') throw new Error('expected a branch');
    expect(node.height).toBe(2);
    expect(node.children.map((c) => [c.address, c.count])).toEqual(children.map((c) => [c.address, c.count]));
    sameDatoms(node.children.map((c) => c.firstKey), children.map((c) => c.firstKey));
    expect(node.children.every((c) => c.lastKey === undefined)).toBe(true); // none given, none recorded
    // With last keys (every child has one): they round-trip too, after the first keys.
    const keys = peopleDatoms(100, 3);
    const withLast = keys.filter((_, i) => i % 2 === 0).map((firstKey, i) => ({ address: addressOf(new Uint8Array([i])), firstKey, lastKey: keys[2 * i + 1]!, count: 2 }));
    const sealedWithLast = codec.encode({ kind: 'branch', height: 1, children: withLast });
    const decoded = codec.decode(sealedWithLast.address, sealedWithLast.bytes);
    if (decoded.kind !== 'branch') throw new Error('expected a branch');
    sameDatoms(decoded.children.map((c) => c.lastKey!), withLast.map((c) => c.lastKey));
  });

  it('is content-addressed: equal nodes have equal addresses, different nodes different ones', () => {
    const datoms = peopleDatoms(100, 1);
    expect(codec.encode({ kind: 'leaf', keys: datoms }).address).toBe(codec.encode({ kind: 'leaf', keys: datoms.slice() }).address);
    expect(codec.encode({ kind: 'leaf', keys: datoms }).address).not.toBe(codec.encode({ kind: 'leaf', keys: datoms.slice(1) }).address);
    // Equal values written as one object or as several (a db's own values, or decoded ones) are
    // the same bytes; equal values of another representation are not.
    const values = (make: (k: number) => unknown) => [0, 0, 1, 1].map((k, i) => new SegmentDatom(1000 + i, 75, make(k), txOfT(5), true));
    const shared = [new Date(7), new Date(8)];
    const twin = (make: (k: number) => unknown) => codec.encode({ kind: 'leaf', keys: values(make) }).address;
    expect(twin((k) => shared[k])).toBe(twin((k) => new Date(7 + k)));
    const tuples = [['a', BigDec.parse('1.50')!, Uuid.parse('00000000-0000-1000-8000-000000000000')!], ['b', 2n]];
    expect(twin((k) => tuples[k])).toBe(twin((k) => decodeValue(encodeValue(tuples[k]!))));
    expect(twin(() => BigDec.parse('1.50')!)).not.toBe(twin(() => BigDec.parse('1.5')!));
    const scales = values((k) => BigDec.parse(k === 0 ? '1.50' : '1.5')!);
    const decoded = codec.decode(codec.encode({ kind: 'leaf', keys: scales }).address, codec.encode({ kind: 'leaf', keys: scales }).bytes);
    if (decoded.kind === 'leaf') sameDatoms(decoded.keys, scales);
  });

  it('a full leaf of people-like datoms is compact', () => {
    const datoms = peopleDatoms(DATOM_LEAF_MAX, 2);
    const sizes = (['none', 'deflate', 'brotli'] as const).map((c) => datomNodeCodec(c).encode({ kind: 'leaf', keys: datoms }).bytes.length);
    // columns alone: well under the ~40 bytes a datom takes as a row; compressed: a few bytes each.
    expect(sizes[0]! / DATOM_LEAF_MAX).toBeLessThan(12);
    expect(sizes[1]! / DATOM_LEAF_MAX).toBeLessThan(7);
    expect(sizes[2]! / DATOM_LEAF_MAX).toBeLessThan(7);
  });

  it('any flipped bit is storage/corrupt naming the address, never a wrong answer', () => {
    const sealed = codec.encode({ kind: 'leaf', keys: peopleDatoms(300, 5) });
    const random = seededRandom(9);
    for (let i = 0; i < 200; i++) {
      const bytes = Uint8Array.from(sealed.bytes);
      const bit = Math.floor(random() * bytes.length * 8);
      bytes[bit >> 3]! ^= 1 << (bit & 7);
      const error = (() => {
        try {
          codec.decode(sealed.address, bytes);
        } catch (e) {
          return e;
        }
      })();
      expect(isFactumError(error, 'storage/corrupt')).toBe(true);
      expect((error as Error).message).toContain(sealed.address);
    }
  });

  it('checks the structure of segments whose hash matches (a bug or a hostile writer)', () => {
    const good = codec.encode({ kind: 'leaf', keys: peopleDatoms(20, 6) });
    const { body } = openSegment(good.address, good.bytes);
    const cases: Array<[string, Uint8Array]> = [
      ['truncated body', sealSegment('leaf', body.subarray(0, body.length - 3), 'deflate').bytes],
      ['trailing bytes', sealSegment('leaf', Uint8Array.from([...body, 0]), 'deflate').bytes],
      ['a leaf read as a branch', sealSegment('branch', body, 'deflate').bytes],
      ['huge count', sealSegment('leaf', Uint8Array.from([0xff, 0xff, 0x7f]), 'none').bytes],
      ['short header', new Uint8Array(5)],
    ];
    const crc = Uint8Array.from(good.bytes);
    crc[12]! ^= 1;
    cases.push(['wrong crc', crc]);
    const magic = Uint8Array.from(good.bytes);
    magic[0] = 0;
    cases.push(['wrong magic', magic]);
    const compression = Uint8Array.from(good.bytes);
    compression[6] = 9;
    cases.push(['unknown compression', compression]);
    expect(HEADER_BYTES).toBe(16);
    for (const [name, bytes] of cases) {
      const address = addressOf(bytes);
      expect(() => codec.decode(address, bytes), name).toThrow(expect.objectContaining({ code: 'storage/corrupt' }));
    }
  });
});
