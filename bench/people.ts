// DataScript's benchmark data set, "people": random men with a name, a last name, 0-9 aliases
// (cardinality-many), a sex, an age and a salary, shuffled. Seeded, so every run sees the same data.

export interface Person {
  /** 1-based; DataScript's bench uses it (as a string) for the :db/id of each map. */
  readonly id: number;
  readonly name: string;
  readonly lastName: string;
  readonly alias: readonly string[];
  readonly sex: 'male' | 'female';
  readonly age: number;
  readonly salary: number;
}

const names = ['Ivan', 'Petr', 'Sergei', 'Oleg', 'Yuri', 'Dmitry', 'Fedor', 'Denis'];
const lastNames = ['Ivanov', 'Petrov', 'Sidorov', 'Kovalev', 'Kuznetsov', 'Voronoi'];
const aliases = [
  'A. C. Q. W.', 'A. J. Finn', 'A.A. Fair', 'Aapeli', 'Aaron Wolfe', 'Abigail Van Buren',
  'Jeanne Phillips', 'Abram Tertz', 'Abu Nuwas', 'Acton Bell', 'Adunis',
];

import { seededRandom } from '../nodes/util/random.ts';

export { seededRandom };

export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** `count` people in random order, as DataScript's `*people20k` (which takes 20 000). */
export function people(count: number, seed = 42): Person[] {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const out: Person[] = [];
  for (let id = 1; id <= count; id++) {
    out.push({
      id,
      name: pick(names),
      lastName: pick(lastNames),
      alias: Array.from({ length: Math.floor(random() * 10) }, () => pick(aliases)),
      sex: random() < 0.5 ? 'male' : 'female',
      age: Math.floor(random() * 100),
      salary: Math.floor(random() * 100000),
    });
  }
  return shuffle(out, random);
}
