//! Turns the db references clients send (client/wire/protocol.ts `DbRef`) back into db values,
//! and db values into references. A reference names a database, a basis t and filters; resolving
//! it costs a map lookup, so `asOf` and friends cost nothing on the node.
//!
//! Exact db values, never a stand-in: a reference names one db value and is answered from it.
//! The node keeps the newest db values of each database by basis t (every transaction it commits,
//! every basis it hands out), at most KEPT_MAX; an older basis at or after the current index root
//! is rebuilt from the root and the novelty after it (Transactor.dbAt); an older one still is
//! refused (`db/basis-not-kept`): a filtered view of a newer db value would not answer the same
//! (values of noHistory attributes changed since, attributes installed since).
//!
//! Speculative db values (`with`): the reference carries a token holding the datoms of its
//! speculative transactions and the basis they were made on, sealed with an HMAC under a key
//! of this node, so a client can neither forge nor alter them. Resolving it replays the datoms
//! on the exact db value of that basis (kept, or the current one), with no checks, as the log is
//! replayed. Tokens stay valid while that basis is kept; a resolved speculative value is cached.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DbRef } from '../../client/wire/protocol.ts';
import { decode, encode } from '../../client/wire/codec.ts';
import type { Db } from '../db/db.ts';
import { readDb } from '../db/durable-base.ts';
import { RowDatom } from '../db/datom-table.ts';
import { replay, type LoggedTransaction } from '../tx/replay.ts';
import type { DatabaseHandle } from '../cluster/database-handle.ts';
import { fail } from '../util/errors.ts';
import { txOfT } from '../datom/datom.ts';

/** Db values kept per database (the newest), and speculative ones in all. */
const KEPT_MAX = 512;
const SPECULATIVE_MAX = 64;
/** Tokens of lent db values start so (a sealed token is base64url, which has no '~'). */
const LENT_PREFIX = 'lent~';
/** How long a read naming a basis this node has not reached yet waits for it. */
const BASIS_WAIT_MS = 5000;

/** A reference to a db value lent to an ion's call: only the main thread resolves it (not a query thread). */
export function isLent(ref: DbRef): boolean {
  return ref.with?.startsWith(LENT_PREFIX) === true;
}

export class DbRefs {
  /** By the database's transactor on this node, so a database deleted and made again under its name shares nothing. */
  private readonly kept = new WeakMap<DatabaseHandle, Map<number, Db>>();
  private readonly speculative = new Map<string, Db>();
  /** Db values lent to an ion's call (lend), by `<log> <token>`: gone when the call ends. */
  private readonly lent = new Map<string, Db>();
  /**
   * The key `with` tokens are sealed with: derived from a secret every node of the system shares
   * (the admin key's), so a token made on one node verifies on any other behind the same load
   * balancer; a random one when none is given (tests).
   */
  private readonly sealKey: Uint8Array;

  constructor(sharedSecret?: Uint8Array) {
    this.sealKey = sharedSecret === undefined ? randomBytes(32) : createHmac('sha256', sharedSecret).update('factum with-token seal').digest();
  }

  /** Remembers a db value of a database (the newest basis, or a transaction's dbAfter). */
  keep(transactor: DatabaseHandle, db: Db): void {
    let byBasis = this.kept.get(transactor);
    if (byBasis === undefined) this.kept.set(transactor, (byBasis = new Map()));
    if (byBasis.has(db.basisT)) return;
    byBasis.set(db.basisT, db);
    // Oldest first (insertion order); memory, not time, bounds what is kept.
    if (byBasis.size > KEPT_MAX) byBasis.delete(byBasis.keys().next().value!);
  }

  /**
   * The database's log name (`db-<id>`), sealed into its tokens: the same on every node, and
   * never the same for a database deleted and made again under its name.
   */
  private instanceOf(transactor: DatabaseHandle): string {
    return transactor.logName;
  }

  /** The reference of a db value of `database` (`with` when it is speculative). */
  refOf(database: string, db: Db, withToken?: string): DbRef {
    const ref: { -readonly [K in keyof DbRef]: DbRef[K] } = { database, basisT: db.basisT };
    if (db.asOfPoint !== null) ref.asOf = db.asOfPoint;
    if (db.sincePoint !== null) ref.since = db.sincePoint;
    if (db.isHistory) ref.history = true;
    if (withToken !== undefined) ref.with = withToken;
    return ref;
  }

  /** The db value a reference names; `transactor` is its database's. */
  async resolve(ref: DbRef, transactor: DatabaseHandle): Promise<Db> {
    let db = ref.with === undefined ? await this.atBasis(ref, transactor) : await this.speculativeDb(ref, transactor);
    if (ref.asOf !== undefined) db = db.asOf(ref.asOf);
    if (ref.since !== undefined) db = db.since(ref.since);
    if (ref.history === true) db = db.history();
    return db;
  }

  /**
   * A reference to `db`, perhaps not durable yet (the db-before of a transaction in a batch), that
   * resolves on this node until `release`: what a transaction function deployed as an ion reads
   * through, from its own thread. The token is random and never leaves the node.
   */
  lend(database: string, log: string, db: Db): { readonly ref: DbRef; release(): void } {
    const token = `${LENT_PREFIX}${randomBytes(18).toString('base64url')}`;
    const key = `${log} ${token}`;
    this.lent.set(key, db);
    return { ref: this.refOf(database, db, token), release: () => this.lent.delete(key) };
  }

  /** Seals the speculative transaction of a `with` on `base` (itself plain or speculative). */
  sealWith(transactor: DatabaseHandle, baseToken: string | undefined, base: Db, after: Db, datoms: readonly { e: number; a: number; v: unknown; added: boolean }[]): string {
    if (baseToken?.startsWith(LENT_PREFIX) === true) {
      fail('db/invalid-reference', 'with() is not available on the db value a transaction function is given (it is not durable yet); return the tx-data instead, or call with() on a db value of the connection.', {});
    }
    const chain = baseToken === undefined ? { basisT: base.basisT, transactions: [] as unknown[] } : this.open(transactor, baseToken);
    const flat: unknown[] = [];
    for (const d of datoms) flat.push(d.e, d.a, d.v, d.added);
    const transactions = [...chain.transactions, [after.basisT, after.state.nextUserN, after.state.nextDbN, flat]];
    // The database (this opening of it) is sealed in: a token never reads as another database's,
    // nor as a database deleted and made again under the same name.
    const instance = this.instanceOf(transactor);
    const payload = Buffer.from(encode([instance, chain.basisT, transactions]));
    const token = `${payload.toString('base64url')}.${this.mac(payload).toString('base64url')}`;
    this.cacheSpeculative(instance, token, after);
    return token;
  }

  private async atBasis(ref: DbRef, transactor: DatabaseHandle): Promise<Db> {
    const current = transactor.db();
    if (ref.basisT > current.basisT) {
      // Another node of the group made this basis (or answered the client first); this one gets
      // it within the novelty push's lag, so the read waits for it rather than failing.
      const reached = await transactor.sync(ref.basisT, { signal: AbortSignal.timeout(BASIS_WAIT_MS) }).catch((error: unknown) => {
        if ((error as Error).name === 'TimeoutError') return null;
        throw error;
      });
      if (reached !== null) return reached.basisT === ref.basisT ? reached : ((await transactor.dbAt(ref.basisT)) ?? this.atBasisNotKept(ref, reached));
      fail('db/basis-not-reached', `This node has database ${JSON.stringify(ref.database)} up to t ${current.basisT}, not yet t ${ref.basisT}. Retry shortly (the client does), or sync first.`, { database: ref.database, basisT: ref.basisT, nodeBasisT: current.basisT });
    }
    if (ref.basisT === current.basisT) return current;
    const kept = this.kept.get(transactor)?.get(ref.basisT);
    if (kept !== undefined) return kept;
    // Rebuilt from the index root and the novelty after it, when the basis is at or after the root.
    const rebuilt = await transactor.dbAt(ref.basisT);
    if (rebuilt !== null) return rebuilt;
    return this.atBasisNotKept(ref, current);
  }

  private atBasisNotKept(ref: DbRef, current: Db): never {
    // Older still: only a filtered view of a newer db value could answer, and it would not answer
    // the same (values of noHistory attributes since changed, attributes installed since).
    return fail('db/basis-not-kept', `This node can no longer serve database ${JSON.stringify(ref.database)} at basis t ${ref.basisT} (it is at t ${current.basisT}; older db values go once they are indexed and not among the newest kept). Take a newer db value (conn.db(), or sync()), and asOf(${ref.basisT}) on it for the past.`, { database: ref.database, basisT: ref.basisT, nodeBasisT: current.basisT });
  }

  private async speculativeDb(ref: DbRef, transactor: DatabaseHandle): Promise<Db> {
    const token = ref.with!;
    const instance = this.instanceOf(transactor);
    if (token.startsWith(LENT_PREFIX)) {
      return this.lent.get(`${instance} ${token}`) ?? fail('db/invalid-reference', 'The db value a transaction function was given is valid only during its call; the call has ended.', { database: ref.database });
    }
    const cached = this.speculative.get(`${instance} ${token}`);
    if (cached !== undefined) return cached;
    const chain = this.open(transactor, token);
    const current = transactor.db();
    const base = chain.basisT === current.basisT ? current : (this.kept.get(transactor)?.get(chain.basisT) ?? (await transactor.dbAt(chain.basisT)) ?? undefined);
    if (base === undefined) {
      fail('db/invalid-reference', `The speculative db value (from with) was made on t ${chain.basisT} of ${JSON.stringify(ref.database)}, which this node no longer keeps. Call with() again on a newer db value.`, { database: ref.database, basisT: chain.basisT });
    }
    let db = base;
    for (const entry of chain.transactions) {
      const [t, nextUserN, nextDbN, flat] = entry as [number, number, number, unknown[]];
      const tx = txOfT(t);
      const datoms: RowDatom[] = [];
      for (let i = 0; i < flat.length; i += 4) datoms.push(new RowDatom(flat[i] as number, flat[i + 1] as number, flat[i + 2], tx, flat[i + 3] as boolean));
      const logged: LoggedTransaction = { t, datoms, nextUserN, nextDbN };
      const before = db;
      db = before.state.base === null ? replay(before, logged) : await readDb(before.state.base, () => replay(before, logged));
    }
    this.cacheSpeculative(instance, token, db);
    return db;
  }

  private open(transactor: DatabaseHandle, token: string): { basisT: number; transactions: unknown[] } {
    const [payloadText, macText, extra] = token.split('.');
    const invalid = (): never => fail('db/invalid-reference', 'The speculative db value (from with) is not one this node made: its token does not verify. Call with() again.', {});
    if (typeof payloadText !== 'string' || typeof macText !== 'string' || extra !== undefined) return invalid();
    const payload = Buffer.from(payloadText, 'base64url');
    const given = Buffer.from(macText, 'base64url');
    const expected = this.mac(payload);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return invalid();
    const [sealedInstance, basisT, transactions] = decode(payload) as [string, number, unknown[]];
    if (sealedInstance !== this.instanceOf(transactor)) {
      fail('db/invalid-reference', 'The speculative db value (from with) was made on another database (or on one deleted since); use it with the database it came from.', {});
    }
    return { basisT, transactions };
  }

  private mac(payload: Uint8Array): Buffer {
    return createHmac('sha256', this.sealKey).update(payload).digest();
  }

  private cacheSpeculative(instance: string, token: string, db: Db): void {
    const key = `${instance} ${token}`;
    this.speculative.delete(key);
    this.speculative.set(key, db);
    if (this.speculative.size > SPECULATIVE_MAX) this.speculative.delete(this.speculative.keys().next().value!);
  }
}
