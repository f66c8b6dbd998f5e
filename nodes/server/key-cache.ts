//! The access keys a node checks signatures against, in memory (authentication is synchronous),
//! reloaded from the key store every `reloadMs` and soon after a request names an unknown key id
//! (a key another node or a tool made since), at most once per `unknownReloadMs` so that requests
//! with made-up ids cannot make the node list and decrypt every key over and over.
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
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: AccessKeyStore,
    private readonly onError: (error: unknown) => void,
    private readonly reloadMs = 30_000,
    private readonly unknownReloadMs = 10_000,
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
    const key = this.known.get(keyId);
    if (key === undefined && Date.now() - this.lastUnknownReloadMs > this.unknownReloadMs) {
      this.lastUnknownReloadMs = Date.now();
      this.reload().catch(this.onError);
    }
    return key;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
