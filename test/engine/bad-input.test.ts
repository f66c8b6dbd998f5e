// Every kind of bad input of issue 2 gets its stable code and changes nothing.
import { describe, expect, it } from 'vitest';
import { BigDec, Uuid, kw } from '../../nodes/values/values.ts';
import { expectError, expectRejected, peopleDb } from './fixtures.ts';
import { emptyDb } from '../../nodes/db/index.ts';
import { attr } from './fixtures.ts';

describe('bad input', () => {
  const db = () => peopleDb().with([{ 'db/id': 'ann', 'person/email': 'ann@x', 'person/age': 30 }]).dbAfter;

  const cases: Array<[string, unknown, string]> = [
    ['tx-data that is not a vector', { 'person/name': 'x' }, 'transact/malformed'],
    ['a form that is neither list nor map', ['not a form'], 'transact/malformed'],
    ['an unknown operation keyword', [[kw('db/frobnicate'), 1]], 'transact/unknown-function'],
    ['a list form of the wrong arity', [['db/add', 'x', 'person/name']], 'transact/malformed'],
    ['an unknown attribute', [{ 'person/shoe-size': 44 }], 'schema/unknown-attribute'],
    ['a wrong value type', [{ 'person/age': 'thirty' }], 'value/wrong-type'],
    ['a fractional long', [{ 'person/age': 1.5 }], 'value/wrong-type'],
    ['a long beyond 64 bits', [{ 'person/age': 2n ** 64n }], 'value/wrong-type'],
    ['an unknown enum ident as a ref value', [{ 'person/color': kw('color/purple') }], 'schema/unknown-ident'],
    ['a missing value', [['db/add', 'x', 'person/name', null]], 'value/wrong-type'],
    ['an oversized string', [{ 'person/name': 'x'.repeat(5000) }], 'value/too-large'],
    ['two values for a cardinality-one attribute', [['db/add', 'x', 'person/age', 1], ['db/add', 'x', 'person/age', 2]], 'transact/cardinality-conflict'],
    ['a unique value held by another entity', [{ 'person/ssn': '1' }, { 'person/ssn': '1' }], 'transact/unique-conflict'],
    ['a failed cas', [['db/cas', [kw('person/email'), 'ann@x'], 'person/age', 31, 32]], 'transact/cas-failed'],
    ['an entity id that was never allocated', [['db/add', 4 * 2 ** 42 + 999_999, 'person/name', 'x']], 'transact/invalid-entity-id'],
    ['a negative entity id', [['db/add', -1, 'person/name', 'x']], 'transact/invalid-entity-id'],
    ['an unknown ident as entity', [['db/add', kw('no/such'), 'person/name', 'x']], 'schema/unknown-ident'],
    ['a lookup ref that names nothing', [['db/add', [kw('person/email'), 'zed@x'], 'person/name', 'x']], 'transact/invalid-lookup-ref'],
    ['a lookup ref on an unknown attribute', [['db/add', [kw('person/nope'), 'x'], 'person/name', 'x']], 'schema/unknown-attribute'],
    ['a txInstant in the past', [{ 'db/id': 'datomic.tx', 'db/txInstant': new Date(0) }], 'transact/tx-instant-in-past'],
    ['a txInstant on an earlier transaction', [['db/add', 3 * 2 ** 42 + 1, 'db/txInstant', new Date(4102444800000)]], 'transact/tx-instant-not-current'],
    ['a map form keyed by something other than attributes', [new Map<unknown, unknown>([[1, 2]])], 'transact/malformed'],
  ];
  for (const [name, txData, code] of cases) {
    it(`rejects ${name} with ${code}`, () => expectRejected(db(), txData, code as never));
  }

  it('rejects retracting a transaction instant with transact/tx-instant-not-current', () => {
    const d = db();
    const instant = [...d.datoms('eavt', 3 * 2 ** 42 + 1, kw('db/txInstant'))][0]!;
    expectRejected(d, [['db/retract', instant.e, 'db/txInstant', instant.v]], 'transact/tx-instant-not-current');
  });

  it('rejects values of every scalar type given the wrong JS type', () => {
    const typed = emptyDb().with([
      attr('t/bigdec', 'bigdec'), attr('t/uuid', 'uuid'), attr('t/instant', 'instant'), attr('t/keyword', 'keyword'),
      attr('t/bytes', 'bytes'), attr('t/boolean', 'boolean'), attr('t/bigint', 'bigint'), attr('t/uri', 'uri'),
    ]).dbAfter;
    for (const [a, wrong] of [['t/bigdec', 1.5], ['t/uuid', 'not-a-uuid'], ['t/instant', 'yesterday'], ['t/keyword', 'ns/x'], ['t/bytes', 'xx'], ['t/boolean', 1], ['t/bigint', 1.5], ['t/uri', 'http://x']] as const) {
      expectRejected(typed, [{ [a]: wrong }], 'value/wrong-type');
    }
    const ok = typed.with([{ 't/bigdec': BigDec.parse('1.50')!, 't/uuid': Uuid.parse('6f8a4e3c-8a4b-4c3b-9d3e-1f2a3b4c5d6e')!, 't/keyword': kw('a/b'), 't/bigint': 5, 't/instant': new Date(1) }]);
    expect(ok.txData.length).toBe(6);
  });

  it('rejects reading with an unknown attribute or index', () => {
    expectError(() => [...db().datoms('aevt', kw('no/such'))], 'schema/unknown-attribute');
    expectError(() => [...db().datoms('eavt', 1, 2, 3, 4, 5)], 'db/invalid-index');
  });
});
