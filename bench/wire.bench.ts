// The wire codec (client/wire/codec.ts, msgpackr) side by side with JSON (JSON.stringify +
// TextEncoder, TextDecoder + JSON.parse) on the messages a node sends most, in one process.
//
//   npm run bench -- bench/wire.bench.ts            BENCH_SAMPLES=15 for more samples (default 9)
//
// Messages:
//   datoms-1000   a chunk of 1,000 datoms, flat [e, a, v, tx, added, …]; v a string, a number or
//                 a keyword; e and tx entity ids beyond 2^32, as Datomic's are
//   query-100     a 100-row query result: [name, age, salary, joined Date, email] rows
//   pull-100      100 pull results: plain objects with keywords, a nested address and refs
//
// JSON gets the closest JSON-able equivalent of the same data: keywords as ":ns/name" strings (their
// toJSON) and Dates as ISO strings. JSON's decode gives those strings back, not keywords or Dates, so
// it does less work than the codec, which rebuilds every value. Each sample runs an operation for
// SAMPLE_MS; the table shows the median sample of each side, throughput in MB/s of the encoded
// message, and JSON time / codec time (above 1: the codec is faster).
import { decode, encode } from '../client/wire/codec.ts';
import { kw } from '../nodes/values/values.ts';
import { people, seededRandom } from './people.ts';
import { perRun, median } from './timing.ts';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 9);
const SAMPLE_MS = 200;
const WARMUP_MS = 500;

const entityBase = 17_592_186_045_418; // Datomic's first user entity id

function datoms(count: number): unknown[] {
  const random = seededRandom(7);
  const keywords = ['status/active', 'status/archived', 'sex/male', 'sex/female'].map(kw);
  const out: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 3;
    const v = kind === 0 ? `value ${Math.floor(random() * 1e6)}` : kind === 1 ? Math.floor(random() * 1e9) : keywords[i % keywords.length];
    out.push(entityBase + Math.floor(i / 4), 70 + (i % 12), v, 13_194_139_534_312 + Math.floor(i / 100), i % 17 !== 0);
  }
  return out;
}

function queryRows(count: number): unknown[] {
  return people(count, 3).map((p, i) => [`${p.name} ${p.lastName}`, p.age, p.salary, new Date(Date.UTC(2020, 0, 1) + i * 86_400_123), `${p.name.toLowerCase()}${p.id}@example.org`]);
}

function pullResults(count: number): unknown[] {
  const sexes = { male: kw('sex/male'), female: kw('sex/female') };
  return people(count, 5).map((p) => ({
    'db/id': entityBase + p.id,
    'person/name': p.name,
    'person/last-name': p.lastName,
    'person/alias': [...p.alias],
    'person/sex': { 'db/ident': sexes[p.sex] },
    'person/age': p.age,
    'person/salary': p.salary,
    'person/address': { 'db/id': entityBase + 100_000 + p.id, 'address/city': 'Paris', 'address/zip': '75001' },
    'person/follows': [{ 'db/id': entityBase + ((p.id * 7) % count) }, { 'db/id': entityBase + ((p.id * 13) % count) }],
  }));
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();
const jsonEncode = (value: unknown): Uint8Array => textEncoder.encode(JSON.stringify(value));
const jsonDecode = (bytes: Uint8Array): unknown => JSON.parse(textDecoder.decode(bytes));

/** Median ms per run of each of `fns`, sampled in turn so that both sides see the same machine. */
function compare(fns: ReadonlyArray<() => unknown>): number[] {
  for (const fn of fns) perRun(fn, WARMUP_MS);
  const samples = fns.map(() => [] as number[]);
  for (let i = 0; i < SAMPLES; i++) fns.forEach((fn, j) => samples[j]!.push(perRun(fn, SAMPLE_MS)));
  return samples.map(median);
}

function row(name: string, operation: string, bytes: readonly [number, number], ms: readonly number[]): string {
  const [codecMs, jsonMs] = ms as [number, number];
  const mbPerS = (size: number, t: number): string => ((size / 1e6 / t) * 1000).toFixed(0).padStart(7);
  const opsPerS = (t: number): string => (1000 / t).toFixed(0).padStart(9);
  return `${name.padEnd(13)} ${operation.padEnd(7)} ${opsPerS(codecMs)} ${mbPerS(bytes[0], codecMs)} ${opsPerS(jsonMs)} ${mbPerS(bytes[1], jsonMs)} ${(jsonMs / codecMs).toFixed(2).padStart(9)}x`;
}

function main(): void {
  const messages: ReadonlyArray<readonly [string, unknown]> = [
    ['datoms-1000', datoms(1000)],
    ['query-100', queryRows(100)],
    ['pull-100', pullResults(100)],
  ];
  console.log(`wire codec vs JSON, median of ${SAMPLES} samples of ${SAMPLE_MS} ms after ${WARMUP_MS} ms warm-up`);
  console.log('message       bytes: codec      JSON  JSON/codec');
  const sized = messages.map(([name, value]) => {
    const bytes = [encode(value), jsonEncode(value)] as const;
    console.log(`${name.padEnd(13)} ${String(bytes[0].length).padStart(12)} ${String(bytes[1].length).padStart(9)} ${(bytes[1].length / bytes[0].length).toFixed(2).padStart(10)}x`);
    return { name, value, bytes };
  });
  console.log('');
  console.log('message       op      codec op/s   MB/s  JSON op/s   MB/s  JSON/codec time');
  for (const { name, value, bytes } of sized) {
    const sizes = [bytes[0].length, bytes[1].length] as const;
    console.log(row(name, 'encode', sizes, compare([() => encode(value), () => jsonEncode(value)])));
    console.log(row(name, 'decode', sizes, compare([() => decode(bytes[0]), () => jsonDecode(bytes[1])])));
  }
}

main();
