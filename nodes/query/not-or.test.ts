import { describe, expect, it } from 'vitest';
import { q } from './index.ts';
import { expectCode, sorted, world } from './test-support.ts';

const { db } = world();

describe('not', () => {
  it('removes rows matching the body', () => {
    expect(sorted(q('[:find [?n ...] :where [?e :person/name ?n] (not [?e :person/age 30])]', db))).toEqual(['Bob', 'Dan']);
  });
  it('keeps variables local with not-join', () => {
    // people nobody names as a friend
    expect(sorted(q('[:find [?n ...] :where [?e :person/name ?n] (not-join [?e] [?x :person/friend ?e])]', db))).toEqual(['Ann', 'Dan']);
  });
  it('runs after the variables it joins on are bound, whatever the order written', () => {
    expect(sorted(q('[:find [?n ...] :where (not [?e :person/age 30]) [?e :person/name ?n]]', db))).toEqual(['Bob', 'Dan']);
  });
  it('supports several clauses in the body', () => {
    expect(sorted(q('[:find [?n ...] :where [?e :person/name ?n] (not-join [?e] [?e :person/friend ?f] [?f :person/age 20])]', db))).toEqual(['Bob', 'Cid', 'Dan']);
    expect(sorted(q('[:find [?n ...] :where [?e :person/name ?n] [?e :person/friend ?f] (not [?f :person/age 20] [?f :person/name "Bob"])]', db))).toEqual(['Ann', 'Bob']);
  });
});

// Datomic's query reference: "All variables used in a not clause will unify with the surrounding
// query. This includes both the arguments to nested expression clauses as well as any bindings
// made by nested function expressions. Datomic will attempt to push the not clause down until all
// necessary variables are bound, and will throw an ::anom/incorrect anomaly if that is not
// possible." Its example, (not [?eid :artist/country :country/CA]) alone, is refused.
describe('not with a variable not bound outside it (issue 20)', () => {
  const rules = `[[(unnamed-friend ?e) [?e :person/age _] (not [?x :person/friend ?e])]
                  [(no-age ?e) (not [?e :person/age _])]]`;
  const refused: Array<[string, string, unknown[]]> = [
    ['a not alone (Datomic\'s example)', '[:find ?e :where (not [?e :person/age 30])]', []],
    ['a not introducing a variable used nowhere else', '[:find ?n :where [?e :person/name ?n] (not [?x :person/friend ?e])]', []],
    ['the same when the rest of the query matches nothing', '[:find ?n :where [?e :person/name "Nobody"] [?e :person/name ?n] (not [?x :person/friend ?e])]', []],
    ['a variable bound by a function inside the not', '[:find ?e :where [?e :person/age ?a] (not [(inc ?a) ?b] [?x :person/age ?b])]', []],
    ['a not inside a not-join body', '[:find ?e :where [?e :person/name] (not-join [?e] [?e :person/friend ?f] (not [?f :person/parent ?p]))]', []],
    ['a not inside a rule body', '[:find ?e :in $ % :where [?e :person/name] (unnamed-friend ?e)]', [rules]],
    ['a not on a rule argument the call leaves unbound', '[:find ?e :in $ % :where (no-age ?e)]', [rules]],
    ['a not inside an or branch', '[:find ?e :where [?e :person/name] (or-join [?e] (and [?e :person/age 30] (not [?x :person/friend ?e])) [?e :person/age 20])]', []],
    ['a not inside an or branch when nothing matches first', '[:find ?e :where [?e :person/name "Nobody"] (or-join [?e] (and [?e :person/age 30] (not [?x :person/friend ?e])) [?e :person/age 20])]', []],
    ['a variable bound only inside an or-join branch', '[:find ?e :where [?e :person/name] (or-join [?e] [?e :person/parent ?p] [?e :person/age 20]) (not [?p :person/age 30])]', []],
  ];
  it.each(refused)('refuses %s', (_, text, inputs) => expectCode(() => q(text, db, ...inputs), 'query/insufficient-binding'));

  it('says which variables and suggests not-join', () => {
    try {
      q('[:find ?n :where [?e :person/name ?n] (not [?x :person/friend ?e])]', db);
    } catch (error) {
      expect((error as { data: unknown }).data).toMatchObject({ variables: ['?x'] });
      expect((error as Error).message).toContain('not-join');
      return;
    }
    throw new Error('no error');
  });

  it('answers when every variable of the not is bound elsewhere, in rules and or branches too', () => {
    const rules = '[[(no-age ?e) (not [?e :person/age _])]]';
    expect(sorted(q('[:find [?n ...] :in $ % :where [?e :person/name ?n] (no-age ?e)]', db, rules))).toEqual(['Dan']);
    expect(sorted(q('[:find [?n ...] :where [?e :person/name ?n] [?x :person/friend ?e] (not [?x :person/age 20])]', db))).toEqual(['Bob', 'Cid']);
    expect(sorted(q('[:find [?n ...] :where [?e :person/name ?n] (or-join [?e] (and [?e :person/parent ?p] (not [?p :person/age 30])) [?e :person/age 20])]', db))).toEqual(['Bob', 'Cid']);
  });
});

describe('not-join', () => {
  it('joins only on the named variables', () => {
    expect(sorted(q('[:find [?n ...] :where [?e :person/name ?n] (not-join [?e] [?e :person/friend ?f] [?f :person/age 30])]', db))).toEqual(['Cid', 'Dan']);
  });
  it('needs its variables bound', () => {
    expectCode(() => q('[:find ?e :where (not-join [?x] [?x :person/age 30]) [?e :person/name]]', db), 'query/insufficient-binding');
  });
});

describe('or', () => {
  it('unions branches', () => {
    expect(sorted(q('[:find [?n ...] :where [?e :person/name ?n] (or [?e :person/age 20] [?e :person/parent _])]', db)).length).toBe(3);
    expect(sorted(q('[:find [?n ...] :where (or [?e :person/name "Ann"] [?e :person/name "Dan"]) [?e :person/name ?n]]', db))).toEqual(['Ann', 'Dan']);
  });
  it('supports and branches', () => {
    expect(sorted(q('[:find [?n ...] :where [?e :person/name ?n] (or (and [?e :person/age 30] [?e :person/salary 50.0]) [?e :person/age 20])]', db))).toEqual(['Bob', 'Cid']);
  });
  it('binds its variables when nothing outside binds them', () => {
    expect(sorted(q('[:find [?e ...] :where (or [?e :person/age 20] [?e :person/email "dan@x"])]', db)).length).toBe(2);
  });
});

describe('or-join', () => {
  it('joins on the named variables, the others staying local', () => {
    expect(sorted(q('[:find [?n ...] :where [?e :person/name ?n] (or-join [?e] [?e :person/friend ?f] [?e :person/age 20])]', db))).toEqual(['Ann', 'Bob']);
  });
  it('requires bound variables in [[?x]]', () => {
    expect(sorted(q('[:find [?n ...] :where (or-join [[?e]] [?e :person/age 20] [?e :person/email "dan@x"]) [?e :person/name ?n]]', db))).toEqual(['Bob', 'Dan']);
  });
  it('refuses a branch that does not bind a joined variable', () => {
    expectCode(() => q('[:find ?e ?x :where (or-join [?e ?x] [?e :person/age ?x] [?e :person/name "Dan"])]', db), 'query/insufficient-binding');
  });
  it('runs against a named source', () => {
    expect(sorted(q('[:find [?n ...] :in $d :where [$d ?e :person/name ?n] ($d or [?e :person/age 20] [?e :person/email "dan@x"])]', db))).toEqual(['Bob', 'Dan']);
  });
});
