// editsOf derives the AEVT, AVET and VAET orders from EAVT order (grouping, not sorting, where it
// can): they must equal a plain sort by each order, for values of every type.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Datom } from '../datom/datom.ts';
import { txOfT } from '../datom/datom.ts';
import { arbitraryValue } from '../values/arbitrary.ts';
import { kw } from '../values/values.ts';
import { SegmentDatom } from '../segment/datom-columns.ts';
import { currentOrders, historyOrders, indexNames } from './datom-order.ts';
import { editsOf, stableByKey, type LoggedTransaction } from './novelty.ts';
import { compareValues } from '../values/compare.ts';
import { decodeRun, encodeRun } from './wire.ts';

const REF_A = 3;
const noLookup = (): Promise<Datom | null> => Promise.reject(new Error('no durable facts here'));

/** Values of one type per attribute (as a schema makes them): attribute 10 + i holds pool i. */
const pools: unknown[][] = [
  ['b', 'a', 'ä', 'a', '', 'Z', '\u{1F600}', 'b'],
  [3, -0, 0, NaN, 2.5, -7, 3, NaN, 1e300],
  [2n ** 60n, -(2n ** 60n), 2n ** 60n],
  [kw('x/b'), kw('x/a'), kw('a'), kw('x/b')],
  [new Date(5), new Date(1), new Date(5)],
];

describe('editsOf', () => {
  it('gives each tree its edits in that tree order, for values of every type', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: 30 }), fc.nat({ max: pools.length }), fc.nat({ max: 20 }), fc.boolean()), { minLength: 1, maxLength: 120 }),
        fc.array(arbitraryValue(), { maxLength: 10 }),
        async (rows, extra) => {
          // Distinct facts [e a v]: assertions in transaction 1, some retracted in transaction 2.
          const seen = new Set<string>();
          const asserted: Datom[] = [];
          for (const [e, p, i] of rows) {
            const a = p === pools.length ? REF_A : 10 + p;
            const v = p === pools.length ? 1000 + i : pools[p]![i % pools[p]!.length];
            const key = `${e} ${a} ${String(v)} ${typeof v}`;
            if (seen.has(key)) continue;
            seen.add(key);
            asserted.push(new SegmentDatom(e, a, v, txOfT(1), true));
          }
          extra.forEach((v, i) => asserted.push(new SegmentDatom(100 + i, 50, v, txOfT(1), true)));
          const retracted = asserted.filter((_, i) => rows[i % rows.length]![3]).map((d) => new SegmentDatom(d.e, d.a, d.v, txOfT(2), false));
          const transactions: LoggedTransaction[] = [
            { t: 1, datoms: asserted },
            { t: 2, datoms: retracted },
          ];
          // Retractions of entities divisible by 3 skip history (:db/noHistory); the wire form carries that too.
          const schema = { isRef: (a: number) => a === REF_A, keepsHistory: (d: Datom) => d.e % 3 !== 0 };
          const edits = await editsOf(transactions, schema, noLookup);
          for (const index of indexNames) {
            const refsOnly = (d: Datom): boolean => index !== 'vaet' || d.a === REF_A;
            expect(edits.current[index].adds).toEqual(edits.current.eavt.adds.filter(refsOnly).sort(currentOrders[index]));
            expect(edits.history[index].adds).toEqual(edits.history.eavt.adds.filter(refsOnly).sort(historyOrders[index]));
          }
          expect(edits.current.eavt.adds.length + edits.history.eavt.adds.length / 2).toBe(asserted.length - retracted.filter((d) => d.e % 3 === 0).length);
          // The wire form to the index worker gives the same edits.
          const { input } = decodeRun(encodeRun(null, { t: 2, logPosition: 3, nextUserN: 4, nextDbN: 5, lastTxInstantMs: 6, transactions, schema }, 7));
          const again = await editsOf(input.transactions, input.schema, noLookup);
          const plain = (datoms: readonly Datom[]): unknown[] => datoms.map((d) => [d.e, d.a, d.v, d.tx, d.added]);
          for (const index of indexNames) {
            expect(plain(again.current[index].adds)).toEqual(plain(edits.current[index].adds));
            expect(plain(again.history[index].adds)).toEqual(plain(edits.history[index].adds));
          }
        },
      ),
      { numRuns: 150, seed: 11 },
    );
  });

  it('sorts by key stably, whatever the keys: its radix, grouping and index sorts agree with a stable sort by compareValues', () => {
    const key = (kind: number): fc.Arbitrary<unknown> =>
      [
        fc.integer({ min: -5, max: 40 }), // few distinct small integers (radix, one pass)
        fc.integer({ min: 0, max: 2 ** 31 }).map((n) => 17592186044416 + n * 3), // entity ids (radix, two passes)
        fc.oneof(fc.integer(), fc.constantFrom(2 ** 40, -(2 ** 40), 2 ** 52)), // spanning 2^32 and more
        fc.oneof(fc.double(), fc.constantFrom(NaN, -0, 0, Infinity, -Infinity, 0.5)), // doubles
        fc.constantFrom('open', 'closed', 'pending', 'Ä', ''), // few distinct strings (grouped)
        fc.string({ unit: 'binary', maxLength: 6 }), // many distinct strings (index sort)
        fc.oneof(fc.integer(), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n })), // longs beyond 2^53 among numbers
        fc.oneof(fc.constantFrom(kw('a/b'), kw('a'), kw('b/a')), fc.date({ noInvalidDate: true })), // anything else
      ][kind]!;
    fc.assert(
      fc.property(
        fc.nat({ max: 7 }).chain((kind) => fc.array(key(kind), { minLength: 0, maxLength: 300, size: 'max' })),
        (keys) => {
          const datoms = keys.map((v, i) => new SegmentDatom(i, 10, v, txOfT(1), true));
          const expected = datoms.slice().sort((x, y) => compareValues(x.v, y.v)).map((d) => d.e);
          expect(stableByKey(datoms, (d) => d.v).map((d) => d.e)).toEqual(expected);
        },
      ),
      { numRuns: 400, seed: 5 },
    );
  });
});
