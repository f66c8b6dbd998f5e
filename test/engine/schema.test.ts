import { describe, expect, it } from 'vitest';
import { emptyDb } from '../../nodes/db/index.ts';
import { kw, sym } from '../../nodes/values/values.ts';
import { attr, expectRejected, peopleDb } from './fixtures.ts';

describe('schema as data', () => {
  it('installs attributes in the db partition and exposes them', () => {
    const db = peopleDb();
    const name = db.attribute(kw('person/name'))!;
    expect(name).toMatchObject({ valueType: 'string', cardinality: 'one', unique: null });
    expect(name.id).toBeLessThan(2 ** 31);
    expect(db.attribute(kw('person/email'))!.unique).toBe('identity');
    expect(db.attribute(kw('person/address'))!.isComponent).toBe(true);
  });

  it('rejects an attribute without a value type or cardinality', () => {
    expectRejected(emptyDb(), [{ 'db/ident': kw('x/y'), 'db/cardinality': kw('db.cardinality/one') }], 'schema/invalid-attribute');
    expectRejected(emptyDb(), [{ 'db/ident': kw('x/y'), 'db/valueType': kw('db.type/string') }], 'schema/invalid-attribute');
    expectRejected(emptyDb(), [{ 'db/ident': kw('x/y'), 'db/valueType': kw('db.type/string'), 'db/cardinality': kw('db.cardinality/one'), 'db/isComponent': true }], 'schema/invalid-attribute');
  });

  it('never changes a value type', () => {
    expectRejected(peopleDb(), [{ 'db/id': kw('person/name'), 'db/valueType': kw('db.type/long') }], 'schema/illegal-change');
  });

  it('allows cardinality one → many, and many → one only when no entity holds several values', () => {
    const db = peopleDb();
    const r = db.with([{ 'db/id': kw('person/name'), 'db/cardinality': kw('db.cardinality/many') }]);
    expect(r.dbAfter.attribute(kw('person/name'))!.cardinality).toBe('many');
    const withTwo = db.with([{ 'db/id': 'a', 'person/aliases': ['x', 'y'] }]).dbAfter;
    expectRejected(withTwo, [{ 'db/id': kw('person/aliases'), 'db/cardinality': kw('db.cardinality/one') }], 'schema/illegal-change');
  });

  it('adds :db/unique only when existing values are unique', () => {
    const db = peopleDb().with([{ 'person/name': 'Same' }, { 'person/name': 'Same' }]).dbAfter;
    expectRejected(db, [{ 'db/id': kw('person/name'), 'db/unique': kw('db.unique/value') }], 'schema/illegal-change');
    const ok = peopleDb().with([{ 'person/name': 'A' }, { 'person/name': 'B' }]).dbAfter;
    expect(ok.with([{ 'db/id': kw('person/name'), 'db/unique': kw('db.unique/value') }]).dbAfter.attribute(kw('person/name'))!.unique).toBe('value');
  });

  // Datomic's schema reference, :db/unique: "To add a uniqueness constraint to an attribute: The
  // attribute must have a :db/cardinality of :db.cardinality/one". Issue 20: factum installed one.
  describe('a unique attribute of cardinality many (issue 20)', () => {
    for (const unique of ['db.unique/identity', 'db.unique/value']) {
      it(`is refused when installed with ${unique}, and nothing is written`, () => {
        expectRejected(emptyDb(), [attr('x/tags', 'string', { many: true, 'db/unique': kw(unique) })], 'schema/invalid-attribute');
      });
    }
    it('is refused when :db/unique is added to a cardinality-many attribute', () => {
      expectRejected(peopleDb(), [{ 'db/id': kw('person/aliases'), 'db/unique': kw('db.unique/value') }], 'schema/invalid-attribute');
    });
    it('is refused when a unique attribute is changed to cardinality many', () => {
      expectRejected(peopleDb(), [{ 'db/id': kw('person/email'), 'db/cardinality': kw('db.cardinality/many') }], 'schema/invalid-attribute');
    });
    it('says what was given and what was expected', () => {
      expect(() => emptyDb().with([attr('x/tags', 'string', { many: true, 'db/unique': kw('db.unique/identity') })])).toThrow(
        ':x/tags has :db/unique :db.unique/identity and :db/cardinality :db.cardinality/many; a unique attribute must be :db.cardinality/one.',
      );
    });
    it('still lets a unique attribute drop :db/unique and then become cardinality many', () => {
      const r1 = peopleDb().with([['db/retract', kw('person/ssn'), 'db/unique', kw('db.unique/value')]]);
      const r2 = r1.dbAfter.with([{ 'db/id': kw('person/ssn'), 'db/cardinality': kw('db.cardinality/many') }]);
      expect(r2.dbAfter.attribute(kw('person/ssn'))).toMatchObject({ unique: null, cardinality: 'many' });
    });
  });

  it('cannot use an attribute in the transaction that installs it', () => {
    expectRejected(emptyDb(), [attr('x/y', 'string'), { 'x/y': 'v' }], 'schema/unknown-attribute');
  });

  it('renames an attribute through :db/ident', () => {
    const before = peopleDb();
    // Names written as strings are looked up (and remembered) by each db value's own schema.
    expect(before.with([['db/add', 'x', 'person/age', 40]]).tempids.x).toBeGreaterThan(0);
    const db = before.with([{ 'db/id': kw('person/age'), 'db/ident': kw('person/years') }]).dbAfter;
    expect(db.attribute(kw('person/years'))!.valueType).toBe('long');
    expect(db.with([['db/add', 'x', ':person/years', 41]]).tempids.x).toBeGreaterThan(0);
    expect(() => db.with([['db/add', 'x', 'person/age', 41]])).toThrow(expect.objectContaining({ code: 'schema/unknown-attribute' }));
    expect(before.with([['db/add', 'x', 'person/age', 42]]).tempids.x).toBeGreaterThan(0);
    expect(() => before.with([['db/add', 'x', 'person/years', 42]])).toThrow(expect.objectContaining({ code: 'schema/unknown-attribute' }));
  });

  it('stores attribute predicates as symbols', () => {
    const db = emptyDb().with([attr('x/p', 'long', { 'db.attr/preds': [sym('my.app/positive?')] })]).dbAfter;
    expect(db.attribute(kw('x/p'))!.preds).toEqual(['my.app/positive?']);
  });
});
