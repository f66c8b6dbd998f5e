import { describe, expect, it } from 'vitest';
import { decodeArgs } from './request-body.ts';

const edn = (text: string) => decodeArgs(new TextEncoder().encode(text), 'application/edn');

describe('decodeArgs, EDN bodies', () => {
  it('keeps a key named __proto__ a member, never the prototype (bug: edn-proto-key)', () => {
    const args = edn('{:__proto__ {:database "secret" :basisT 1} :database "public"}');
    expect(Object.getPrototypeOf(args)).toBe(Object.prototype);
    expect(Object.hasOwn(args, '__proto__')).toBe(true);
    expect(args.database).toBe('public');
  });

  it('reads db values in :db and at the :dbArgs positions of :args only', () => {
    const args = edn('{:db {:database "a" :basisT 2} :args [{:database "a" :basisT 2} {:database "b" :basisT 3}] :dbArgs [0]}');
    expect(args.db).toEqual({ database: 'a', basisT: 2 });
    const [first, second] = args.args as unknown[];
    expect(first).toEqual({ database: 'a', basisT: 2 });
    expect(second).toBeInstanceOf(Map);
  });
});
