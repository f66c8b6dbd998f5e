// Bad input to pull: every error path, with its stable code and the offending form.
import { describe, expect, it } from 'vitest';
import { kw, sym } from '../values/values.ts';
import { indexPull, pull, pullMany } from './index.ts';
import { expectError, world } from './test-db.ts';

const data = () => world([{ 'db/id': 'ann', 'person/name': 'Ann', 'person/email': 'ann@x' }]);

describe('pull errors', () => {
  it('rejects an unknown attribute, naming it', () => {
    const { db, ids } = data();
    const error = expectError(() => pull(db, ['person/name', 'person/nope'], ids.ann), 'pull/unknown-attribute');
    expect(error.message).toContain(':person/nope');
    expectError(() => pull(db, ['person/_nope'], ids.ann), 'pull/unknown-attribute');
    expectError(() => pull(db, [{ 'person/nope': ['person/name'] }], ids.ann), 'pull/unknown-attribute');
  });

  it('rejects an ident that is not an attribute', () => {
    const { db, ids } = data();
    expectError(() => pull(db, [kw('color/red')], ids.ann), 'pull/unknown-attribute');
  });

  it('rejects nesting or reversing a non-ref attribute', () => {
    const { db, ids } = data();
    const error = expectError(() => pull(db, [{ 'person/name': ['db/id'] }], ids.ann), 'pull/not-a-ref');
    expect(error.message).toContain(':person/name');
    expectError(() => pull(db, ['person/_name'], ids.ann), 'pull/not-a-ref');
    expectError(() => pull(db, [{ 'db/id': ['person/name'] }], ids.ann), 'pull/not-a-ref');
    expectError(() => pull(db, [{ 'person/name': 2 }], ids.ann), 'pull/not-a-ref');
  });

  it('rejects malformed entity arguments', () => {
    const { db } = data();
    for (const eid of ['ann', -1, 1.5, null, {}, [kw('person/email')], [kw('person/email'), 'a', 'b'], Number.NaN]) {
      expectError(() => pull(db, ['person/name'], eid as never), 'pull/invalid-entity');
    }
    expectError(() => pullMany(db, ['person/name'], 5 as never), 'pull/invalid-entity');
  });

  it('rejects a lookup ref on a non-unique or unknown attribute', () => {
    const { db } = data();
    expectError(() => pull(db, ['person/name'], [kw('person/name'), 'Ann']), 'pull/invalid-entity');
    expectError(() => pull(db, ['person/name'], [kw('person/zzz'), 'Ann']), 'pull/unknown-attribute');
  });

  it('reports an ident or lookup ref that names nothing', () => {
    const { db } = data();
    const error = expectError(() => pull(db, ['person/name'], [kw('person/email'), 'nobody@x']), 'pull/entity-not-found');
    expect(error.message).toContain('nobody@x');
    expectError(() => pull(db, ['person/name'], kw('no/such-ident')), 'pull/entity-not-found');
  });

  it('refuses a history db', () => {
    const { db, ids } = data();
    expectError(() => pull(db.history(), ['person/name'], ids.ann), 'pull/history-db');
    expectError(() => indexPull(db.history(), { index: 'avet', selector: ['person/name'], start: ['person/name'] }), 'pull/history-db');
  });

  it('reports bad patterns with pull/ codes', () => {
    const { db, ids } = data();
    expectError(() => pull(db, kw('person/name') as never, ids.ann), 'pull/syntax');
    expectError(() => pull(db, 42 as never, ids.ann), 'pull/syntax');
    expectError(() => pull(db, [['person/name', 'xform', sym('nope/nope')]], ids.ann), 'pull/invalid-xform');
  });

  it('rejects bad indexPull options', () => {
    const { db } = data();
    const selector = ['person/name'];
    expectError(() => indexPull(db, { index: 'eavt', selector, start: ['person/name'] }), 'pull/invalid-index-pull');
    expectError(() => indexPull(db, { index: 'avet', selector, start: [] }), 'pull/invalid-index-pull');
    expectError(() => indexPull(db, { index: 'avet', selector, start: 'person/name' as never }), 'pull/invalid-index-pull');
    expectError(() => indexPull(db, { index: 'avet', selector, start: [{}] }), 'pull/invalid-index-pull');
    expectError(() => indexPull(db, { index: 'avet', selector, start: ['person/zzz'] }), 'pull/unknown-attribute');
    expectError(() => indexPull(db, { index: 'avet', selector, start: ['person/name'], limit: -1 }), 'pull/invalid-index-pull');
    expectError(() => indexPull(db, { index: 'avet', selector, start: ['person/name'], offset: 0.5 }), 'pull/invalid-index-pull');
  });
});
