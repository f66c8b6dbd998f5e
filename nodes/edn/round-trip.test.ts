// Property tests: printing then reading gives back an equal value, for every generated value.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbitraryValue } from '../values/arbitrary.ts';
import { ednEqual } from './edn-equal.ts';
import { printEdn } from './printer.ts';
import { readAllEdn, readEdn } from './reader.ts';

describe('print then read', () => {
  it('gives back an equal value', () => {
    fc.assert(
      fc.property(arbitraryValue({ depthMax: 4 }), (value) => {
        const text = printEdn(value);
        const back = readEdn(text);
        if (!ednEqual(back, value)) throw new Error(`read(print(v)) differs for ${text}`);
      }),
      { seed: 20240601, numRuns: 2000 },
    );
  });

  it('gives back an equal value when pretty-printed to a narrow width', () => {
    fc.assert(
      fc.property(arbitraryValue(), fc.integer({ min: 1, max: 60 }), (value, width) => {
        const back = readEdn(printEdn(value, { width }));
        expect(ednEqual(back, value)).toBe(true);
      }),
      { seed: 7, numRuns: 500 },
    );
  });

  it('reads several printed forms back in order', () => {
    fc.assert(
      fc.property(fc.array(arbitraryValue({ depthMax: 2 }), { maxLength: 6 }), (values) => {
        const back = readAllEdn(values.map((v) => printEdn(v)).join('\n'));
        expect(ednEqual(back, values)).toBe(true);
      }),
      { seed: 11, numRuns: 300 },
    );
  });
});
