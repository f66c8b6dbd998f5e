//! The REPL: reads EDN forms (one command per list form, possibly spanning lines), runs them
//! against a connection, and prints results as EDN. Works on a terminal and on piped input.
//!
//!   (transact [{:movie/title "Heat"}])      commit tx-data
//!   (datoms :avet :movie/title)             print datoms of an index
//!   (q [:find ?t :where [_ :movie/title ?t]] arg ...)   run a query ($ is the current db)
//!   (pull [*] [:movie/title "Alien"])       pull an entity
//!   (as-of t) (since t) (history) (now)     choose the db value later commands read
//!   (stats) (basis-t) (help)
import { createInterface } from 'node:readline';
import type { Connection, Db } from '../../client/types.ts';
import { readAllEdn } from '../edn/reader.ts';
import { printEdn } from '../edn/printer.ts';
import { FactumError, fail, isFactumError } from '../util/errors.ts';
import { Keyword, List, Sym } from '../values/values.ts';

const help = `commands: (transact TX-DATA) (datoms INDEX COMPONENT...) (q QUERY ARG...) (pull PATTERN EID)
          (as-of T) (since T) (history) (now) (stats) (basis-t) (help)`;

export async function runRepl(conn: Connection): Promise<void> {
  const interactive = process.stdin.isTTY === true;
  const lines = createInterface({ input: process.stdin, terminal: interactive });
  const session = new Session(conn);
  if (interactive) console.log(`factum REPL on database "${conn.dbName}" at t ${conn.db().basisT}. ${help}`);
  let buffer = '';
  const prompt = () => interactive && process.stdout.write(buffer === '' ? 'factum> ' : '   ...> ');
  prompt();
  for await (const line of lines) {
    buffer += line + '\n';
    if (!isComplete(buffer)) {
      prompt();
      continue;
    }
    const text = buffer;
    buffer = '';
    try {
      for (const form of readAllEdn(text)) console.log(await session.eval(form));
    } catch (error) {
      if (isFactumError(error)) console.log(`error [${error.code}]: ${error.message}`);
      else throw error;
    }
    prompt();
  }
  if (buffer.trim() !== '') console.log('error [edn/syntax]: input ended inside an unclosed form');
}

/** True when every bracket opened outside strings and comments is closed. */
export function isComplete(text: string): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === ';') while (i < text.length && text[i] !== '\n') i++;
    else if (c === '\\') i++;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
  }
  return depth <= 0 && !inString;
}

class Session {
  private view: ((db: Db) => Db) | null = null;

  constructor(private readonly conn: Connection) {}

  private db(): Db {
    const db = this.conn.db();
    return this.view === null ? db : this.view(db);
  }

  async eval(form: unknown): Promise<string> {
    if (!(form instanceof List) || !(form.items[0] instanceof Sym)) {
      fail('edn/unsupported', `Expected a command like (transact [...]) or (help), got ${printEdn(form)}.`, { form });
    }
    const [head, ...args] = form.items as [Sym, ...unknown[]];
    switch (head.fqn) {
      case 'transact': {
        const report = await this.conn.transact(args[0] as unknown[]);
        return printEdn(new Map<unknown, unknown>([[Keyword.of('t'), report.dbAfter.basisT], [Keyword.of('datoms'), report.txData.length], [Keyword.of('tempids'), new Map(Object.entries(report.tempids))]]));
      }
      case 'datoms':
        return (await collectDatoms(this.db(), args)).join('\n');
      case 'q':
        return printEdn(await runQuery(this.db(), args));
      case 'pull':
        return printEdn(await runPull(this.db(), args));
      case 'as-of':
        this.view = (db) => db.asOf(args[0] as number | Date);
        return `reading as of ${printEdn(args[0])}`;
      case 'since':
        this.view = (db) => db.since(args[0] as number | Date);
        return `reading since ${printEdn(args[0])}`;
      case 'history':
        this.view = (db) => db.history();
        return 'reading history';
      case 'now':
        this.view = null;
        return `reading the current db (t ${this.conn.db().basisT})`;
      case 'stats':
        return printEdn(await this.db().stats());
      case 'basis-t':
        return String(this.db().basisT);
      case 'help':
        return help;
      default:
        return fail('edn/unsupported', `Unknown command ${head.fqn}. ${help}`, { command: head.fqn });
    }
  }
}

/** Datoms as printed rows `[e :attr v tx added]`. */
async function collectDatoms(db: Db, args: unknown[]): Promise<string[]> {
  const [index, ...components] = args;
  const name = index instanceof Keyword ? index.name : String(index);
  if (!['eavt', 'aevt', 'avet', 'vaet'].includes(name)) {
    fail('db/invalid-index', `Index must be one of :eavt :aevt :avet :vaet, got ${printEdn(index)}.`, { index });
  }
  const rows: string[] = [];
  // One lookup per attribute, not per datom (on a remote client each is a call).
  const idents = new Map<number, Promise<Keyword | null>>();
  for await (const d of db.datoms(name as 'eavt', components)) {
    let ident = idents.get(d.a);
    if (ident === undefined) idents.set(d.a, (ident = db.ident(d.a)));
    const attribute = (await ident) ?? d.a;
    rows.push(printEdn([d.e, attribute, d.v, d.tx, d.added]));
  }
  return rows;
}

export async function printDatoms(db: Db, args: unknown[]): Promise<void> {
  for (const row of await collectDatoms(db, args)) console.log(row);
}

async function runQuery(db: Db, args: unknown[]): Promise<unknown> {
  return db.runQuery({ query: args[0] as never, args: [db, ...args.slice(1)] });
}

async function runPull(db: Db, args: unknown[]): Promise<unknown> {
  if (args.length !== 2) throw new FactumError('pull/syntax', 'pull takes a pattern and an entity: (pull [*] 17).', {});
  return db.pull(args[0] as never, args[1]);
}
