//! The access keys a node checks signatures against, in memory (authentication is synchronous),
//! reloaded from the key store every `reloadMs`, and when a request names an unknown key id (a key
//! another node made since: a database created through another node of the group) — that request
//! waits for the reload and is checked again — at most once per `unknownReloadMs`, so that
//! requests with made-up ids cannot make the node list and decrypt every key over and over.
//!
//! Reloads may overlap (a timer's and one after a database was deleted); each takes a number when
//! it starts, and a reload's result is used only if no later-started one was used first, so a slow
//! reload that began before a key was deleted cannot bring it back.
import type { AccessKey } from '../../client/remote/access-key.ts';
import type { AccessKeyStore } from './access-keys/index.ts';

export class KeyCache {
  private known = new Map<string, AccessKey>();
  private started = 0;
  private applied = 0;
  private lastUnknownReloadMs = 0;
  private unknownReload: Promise<void> | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: AccessKeyStore,
    private readonly onError: (error: unknown) => void,
    private readonly reloadMs = 30_000,
    private readonly unknownReloadMs = 1000,
  ) {
    this.timer = setInterval(() => this.reload().catch(onError), reloadMs);
    this.timer.unref();
  }

  /** Loads the keys now; resolves once they are in use (or a newer load's are). */
  async reload(): Promise<void> {
    const number = ++this.started;
    const keys = await this.store.list();
    if (number < this.applied) return;
    this.applied = number;
    this.known = new Map(keys.map((key) => [key.keyId, key]));
  }

  lookup(keyId: string): AccessKey | undefined {
    return this.known.get(keyId);
  }

  /**
   * After a lookup found no key: reloads (or joins the reload under way), unless the last such
   * reload began less than `unknownReloadMs` ago. True when the keys were reloaded meanwhile, so
   * the lookup is worth making again.
   */
  async reloadForUnknown(): Promise<boolean> {
    if (this.unknownReload !== null) {
      await this.unknownReload;
      return true;
    }
    if (Date.now() - this.lastUnknownReloadMs <= this.unknownReloadMs) return false;
    this.lastUnknownReloadMs = Date.now();
    this.unknownReload = this.reload().finally(() => (this.unknownReload = null));
    await this.unknownReload;
    return true;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
