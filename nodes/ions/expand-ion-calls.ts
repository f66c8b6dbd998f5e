//! Transaction functions deployed as ions, expanded before the engine processes a transaction.
//!
//!   [[:shop/transfer "a" "b" 10] {:db/id "x" ...}]
//!        │ an ion call: the form's operation names <app>/<allowed export>
//!        ▼ IonHost.callTransaction(export, db-before, args)        (the ion's thread, async)
//!   [[:db/add ...] [:db/add ...] {:db/id "x" ...}]                 (its tx-data, spliced in place)
//!
//! The engine's own transaction functions run synchronously inside it; an ion runs on its own
//! thread and reads through the client API, so its calls are expanded here, one transaction at a
//! time in the transactor's writer loop, against that transaction's db-before. That is what the
//! engine gives its functions too (every function sees db-before, never the effects of earlier
//! forms), so expanding first changes nothing a function can see. Tx-data an ion returns may call
//! ions again (and built-in functions, which the engine expands), up to FUNCTION_DEPTH_MAX deep.
import { Keyword, List, Sym } from '../values/values.ts';
import { readEdn } from '../edn/reader.ts';
import { fail } from '../util/errors.ts';
import type { DbRef } from '../../client/wire/protocol.ts';

/** As the engine's limit on nested transaction functions (nodes/tx/forms.ts). */
const FUNCTION_DEPTH_MAX = 32;

/** The running revision, as far as expansion needs it. */
export interface TransactionIons {
  /** The application's name: the namespace of its functions. */
  readonly app: string;
  has(exportName: string): boolean;
  callTransaction(exportName: string, db: DbRef, args: readonly unknown[]): Promise<unknown>;
}

/** The export an ion call names, or null when the form is not one of `ions`' calls. */
function ionCallOf(form: unknown, app: string, ions: TransactionIons): string | null {
  const items = Array.isArray(form) ? form : form instanceof List ? form.items : null;
  if (items === null || items.length === 0) return null;
  const op = items[0];
  let fqn: string | null = null;
  if (op instanceof Keyword || op instanceof Sym) fqn = op.fqn;
  else if (typeof op === 'string') fqn = op.startsWith(':') ? op.slice(1) : op;
  if (fqn === null) return null;
  const slash = fqn.indexOf('/');
  if (slash <= 0 || fqn.slice(0, slash) !== app) return null;
  const name = fqn.slice(slash + 1);
  return ions.has(name) ? name : null;
}

/** True when some top-level form calls one of `ions`' functions (cheap: expansion is skipped otherwise). */
export function callsIons(txData: unknown, ions: TransactionIons): boolean {
  return Array.isArray(txData) && txData.some((form) => ionCallOf(form, ions.app, ions) !== null);
}

/**
 * `txData` with every ion call replaced by the tx-data the ion returns for `dbBefore` (reached by
 * the ion through `ref`). An ion that throws refuses the transaction with its message.
 */
export async function expandIonCalls(txData: unknown, ref: DbRef, ions: TransactionIons, depth = 0): Promise<unknown> {
  if (!Array.isArray(txData)) return txData; // the engine refuses it, with its own words
  const out: unknown[] = [];
  for (const form of txData) {
    const name = ionCallOf(form, ions.app, ions);
    if (name === null) {
      out.push(form);
      continue;
    }
    if (depth >= FUNCTION_DEPTH_MAX) {
      fail('transact/function-failed', `Transaction functions nested more than ${FUNCTION_DEPTH_MAX} deep (at :${ions.app}/${name}); a function probably calls itself.`, { function: `${ions.app}/${name}` });
    }
    const items = Array.isArray(form) ? form : (form as List).items;
    const result = tidy(await ions.callTransaction(name, ref, items.slice(1)), `${ions.app}/${name}`);
    out.push(...((await expandIonCalls(result, ref, ions, depth + 1)) as unknown[]));
  }
  return out;
}

/** An ion's answer as tx-data: an array of forms, or EDN text of a vector. */
function tidy(result: unknown, fqn: string): unknown[] {
  const data = typeof result === 'string' ? readEdnOrFail(result, fqn) : result;
  if (Array.isArray(data)) return data;
  if (data instanceof List) return [...data.items];
  return fail('transact/function-failed', `Transaction function :${fqn} returned ${describe(data)}; it must return tx-data: an array of forms (or EDN text of a vector).`, { function: fqn });
}

function readEdnOrFail(text: string, fqn: string): unknown {
  try {
    return readEdn(text);
  } catch (error) {
    return fail('transact/function-failed', `Transaction function :${fqn} returned text that is not EDN tx-data (${(error as Error).message}).`, { function: fqn });
  }
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'no prototype'})`;
  return `a ${typeof value}`;
}
