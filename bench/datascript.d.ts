// The small part of the `datascript` package's JS API the benchmarks use (it ships no types).
declare module 'datascript' {
  export type DsDb = { readonly __datascriptDb: unique symbol };
  export interface DsDatom {
    readonly e: number;
    readonly a: string;
    readonly v: unknown;
    readonly tx: number;
  }
  export type DsSchema = Record<string, Record<string, string>>;
  export function empty_db(schema?: DsSchema): DsDb;
  export function init_db(datoms: ReadonlyArray<readonly unknown[]>, schema?: DsSchema): DsDb;
  export function db_with(db: DsDb, txData: readonly unknown[]): DsDb;
  export function datoms(db: DsDb, index: string, ...components: unknown[]): DsDatom[];
  export function q(query: string, ...inputs: unknown[]): unknown;
  export function pull(db: DsDb, pattern: string, e: unknown): unknown;
  const datascript: {
    empty_db: typeof empty_db;
    init_db: typeof init_db;
    db_with: typeof db_with;
    datoms: typeof datoms;
    q: typeof q;
    pull: typeof pull;
  };
  export default datascript;
}
