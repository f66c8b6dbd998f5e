//! The revision of ions this node runs now, and every way the node reaches it: transaction
//! functions (expanded by the transactor through `expand`), query functions and pull xforms
//! (registered by name in the engine's registries), the HTTP handler and the Lambda entry points.
//!
//! Switching revisions is one assignment: a call that started on the old revision finishes on it
//! (its host is stopped once its calls have ended, or after STOP_GRACE_MS), every call after the
//! switch runs on the new one.
import { registerFunction, unregister } from '../query/registry.ts';
import { registerXform, unregisterXform } from '../pull/xform.ts';
import { fail } from '../util/errors.ts';
import type { Db } from '../db/db.ts';
import type { DbRef } from '../../client/wire/protocol.ts';
import type { IonConfig, IonHttpRequest, IonHttpResponse } from './revision.ts';

export type { IonHttpRequest, IonHttpResponse } from './revision.ts';
import { callsIons, expandIonCalls, type TransactionIons } from './expand-ion-calls.ts';

/** How long a replaced revision's calls in flight may take before its thread is stopped anyway. */
const STOP_GRACE_MS = 30_000;
/** How long synchronous ion calls may block the main thread without the event loop turning. */
const SYNC_BUDGET_MS = 2000;

/** A loaded revision's thread (nodes/ions/host.ts IonHost), as the node uses it. */
export interface IonThread extends TransactionIons {
  callSync(exportName: string, args: readonly unknown[]): unknown;
  http(request: IonHttpRequest): Promise<IonHttpResponse>;
  lambda(lambdaName: string, input: string): Promise<string>;
  stop(): Promise<void>;
}

export interface LoadedRevision {
  readonly app: string;
  readonly rev: string;
  readonly config: IonConfig;
  readonly host: IonThread;
}

/** Lends a db value to an ion's call (DbRefs.lend, with the database's name found from its log). */
export type Lend = (db: Db, log: string) => Promise<{ readonly ref: DbRef; release(): void }>;

export class ActiveIons {
  private current: LoadedRevision | null = null;
  private readonly calls = new Map<IonThread, number>();
  private readonly drained = new Map<IonThread, () => void>();

  private readonly retiring = new Set<Promise<void>>();
  /** Milliseconds query functions blocked this turn of the event loop (reset at the next turn). */
  private blockedMs = 0;
  private budgetResetting = false;

  constructor(
    private readonly lend: Lend,
    /** Told when a replaced revision's thread could not be stopped (it may linger until the node stops). */
    private readonly onRetireFailed: (revision: LoadedRevision, error: unknown) => void = () => undefined,
  ) {}

  /** The revision running, or null. */
  get revision(): { readonly app: string; readonly rev: string } | null {
    return this.current === null ? null : { app: this.current.app, rev: this.current.rev };
  }

  running(): boolean {
    return this.current !== null;
  }

  /**
   * The running revision's HTTP handler, taken now: whether it takes unsigned requests (ion-config
   * `http.public`) and the calls, both of this revision even if another is switched to meanwhile.
   */
  httpHandler(): { readonly isPublic: boolean; handle(request: IonHttpRequest): Promise<IonHttpResponse> } {
    const current = this.current;
    return { isPublic: current?.config.http?.public === true, handle: (request) => this.http(request, current) };
  }

  /**
   * Runs `next` from now on (null: none). Its names are registered first; a name the engine
   * refuses (one shadowing a built-in) fails the switch with nothing changed.
   */
  async switchTo(next: LoadedRevision | null): Promise<void> {
    const previous = this.current;
    const names = (revision: LoadedRevision | null): string[] => (revision === null ? [] : revision.config.allow.map((name) => `${revision.app}/${name}`));
    if (next !== null) {
      try {
        this.register(next);
      } catch (error) {
        for (const fqn of names(next)) if (!names(previous).includes(fqn)) forget(fqn);
        if (previous !== null) this.register(previous); // what was overwritten, back
        throw error;
      }
    }
    for (const fqn of names(previous)) if (!names(next).includes(fqn)) forget(fqn);
    this.current = next;
    // The old revision's thread is stopped once its calls end, in the background: the switch is done.
    if (previous !== null && previous.host !== next?.host) {
      const retiring = this.retire(previous.host).catch((error: unknown) => this.onRetireFailed(previous, error));
      this.retiring.add(retiring);
      void retiring.finally(() => this.retiring.delete(retiring));
    }
  }

  /** The node's transactor option `expandTxData`: ion calls in `txData` expanded against `db`. */
  readonly expand = async (db: Db, txData: unknown, log: string): Promise<unknown> => {
    const current = this.current;
    if (current === null || !callsIons(txData, current.host)) return txData;
    const lent = await this.lend(db, log);
    try {
      return await this.track(current.host, () => expandIonCalls(txData, lent.ref, current.host));
    } finally {
      lent.release();
    }
  };

  async http(request: IonHttpRequest, current = this.current): Promise<IonHttpResponse> {
    if (current === null || current.config.http === undefined) {
      return fail('ion/unknown-name', current === null ? 'No ion revision is deployed on this compute group, so nothing answers under /ion/. Push a revision and deploy it (factum ions push, factum ions deploy).' : `The ion application ${current.app} (revision ${current.rev}) has no http handler; add "http": { "handler": "<export>" } to its ion-config.json.`, { path: request.path });
    }
    return this.track(current.host, () => current.host.http(request));
  }

  async lambda(name: string, input: string): Promise<string> {
    const current = this.current;
    if (current === null || current.config.lambdas?.[name] === undefined) {
      const known = current === null ? [] : Object.keys(current.config.lambdas ?? {});
      return fail('ion/unknown-name', current === null ? `No ion revision is deployed on this compute group, so there is no Lambda ion ${JSON.stringify(name)}. Push a revision and deploy it.` : `The ion application ${current.app} (revision ${current.rev}) has no Lambda ${JSON.stringify(name)}; it has ${known.length === 0 ? 'none' : known.join(', ')}.`, { name, lambdas: known });
    }
    return this.track(current.host, () => current.host.lambda(name, input));
  }

  /** Stops the running revision (the node is stopping), and waits for replaced ones to stop. */
  async close(): Promise<void> {
    await this.switchTo(null);
    await Promise.all([...this.retiring]);
  }

  private register(revision: LoadedRevision): void {
    for (const name of revision.config.allow) {
      const fqn = `${revision.app}/${name}`;
      registerFunction(fqn, (...args: unknown[]) => this.callSync(revision, name, args));
      registerXform(fqn, (value: unknown) => this.callSync(revision, name, [value]));
    }
  }

  /**
   * A query function's or xform's call: it blocks this thread (the node's main thread) while the
   * ion runs, so the calls of one turn of the event loop (one query's synchronous stretch) may
   * take SYNC_BUDGET_MS in all; past that the query fails, before the node's leases and requests suffer.
   */
  private callSync(revision: LoadedRevision, name: string, args: readonly unknown[]): unknown {
    if (this.blockedMs >= SYNC_BUDGET_MS) {
      fail('ion/timeout', `Calls of ion query functions and xforms took ${Math.round(this.blockedMs)} ms of this query without a pause, more than the ${SYNC_BUDGET_MS} ms a node allows (they hold up everything else on it). Make ${revision.app}/${name} faster, or call it on fewer values (filter first).`, { function: `${revision.app}/${name}`, blockedMs: Math.round(this.blockedMs) });
    }
    const started = performance.now();
    try {
      return this.track(revision.host, () => revision.host.callSync(name, args));
    } finally {
      this.blockedMs += performance.now() - started;
      if (!this.budgetResetting) {
        this.budgetResetting = true;
        setImmediate(() => {
          this.blockedMs = 0;
          this.budgetResetting = false;
        });
      }
    }
  }

  /** Runs `call` on `host`, counted, so a replaced host is stopped only once its calls end. */
  private track<T>(host: IonThread, call: () => T): T {
    this.calls.set(host, (this.calls.get(host) ?? 0) + 1);
    let result: T;
    try {
      result = call();
    } catch (error) {
      this.done(host);
      throw error;
    }
    if (result instanceof Promise) {
      return result.finally(() => this.done(host)) as T;
    }
    this.done(host);
    return result;
  }

  private done(host: IonThread): void {
    const left = (this.calls.get(host) ?? 1) - 1;
    if (left > 0) {
      this.calls.set(host, left);
      return;
    }
    this.calls.delete(host);
    this.drained.get(host)?.();
  }

  private async retire(host: IonThread): Promise<void> {
    if ((this.calls.get(host) ?? 0) > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, STOP_GRACE_MS);
        timer.unref();
        this.drained.set(host, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.drained.delete(host);
    }
    await host.stop();
  }
}

function forget(fqn: string): void {
  unregister(fqn);
  unregisterXform(fqn);
}
