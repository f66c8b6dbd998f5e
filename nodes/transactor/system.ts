//! A system: one storage holding a catalog of databases, and the transactors of the databases
//! this process has connected to.
//!
//! The catalog is one compare-and-swap record (`catalog`) holding every database's name and
//! id. A database's log is named by its id, not its name, so deleting a database and creating
//! another with the same name never mixes their logs.
import { randomUUID } from 'node:crypto';
import type { Storage } from '../storage/protocol.ts';
import { fail } from '../util/errors.ts';
import { Transactor, type TransactorOptions } from './transactor.ts';
import { rootKey, segmentPrefix } from '../indexer/root.ts';

export interface DatabaseInfo {
  readonly name: string;
  readonly id: string;
  readonly created: string;
}

interface Catalog {
  readonly databases: readonly DatabaseInfo[];
}

const CATALOG_KEY = 'catalog';
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkDatabaseName(name: unknown): string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    fail('catalog/invalid-name', `Database name ${JSON.stringify(name)} is not valid: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.`, { name });
  }
  return name;
}

export class System {
  private readonly transactors = new Map<string, Promise<Transactor>>();
  private closed = false;

  constructor(
    readonly storage: Storage,
    private readonly options: TransactorOptions = {},
  ) {}

  async listDatabases(): Promise<string[]> {
    return (await this.readCatalog()).catalog.databases.map((d) => d.name).sort();
  }

  /** Creates a database; false if one with that name exists already. */
  async createDatabase(name: string): Promise<boolean> {
    checkDatabaseName(name);
    for (;;) {
      const { catalog, version } = await this.readCatalog();
      if (catalog.databases.some((d) => d.name === name)) return false;
      const next: Catalog = { databases: [...catalog.databases, { name, id: randomUUID(), created: new Date().toISOString() }] };
      if (await this.storage.casRecord(CATALOG_KEY, version, encodeCatalog(next))) return true;
    }
  }

  /** Deletes a database and its log; false if there was none by that name. */
  async deleteDatabase(name: string): Promise<boolean> {
    checkDatabaseName(name);
    for (;;) {
      const { catalog, version } = await this.readCatalog();
      const info = catalog.databases.find((d) => d.name === name);
      if (info === undefined || version === null) return false;
      const next: Catalog = { databases: catalog.databases.filter((d) => d.name !== name) };
      if (await this.storage.casRecord(CATALOG_KEY, version, encodeCatalog(next))) {
        const transactor = this.transactors.get(name);
        this.transactors.delete(name);
        if (transactor !== undefined) await (await transactor.catch(() => null))?.close();
        await this.storage.deleteLog(logName(info));
        await deleteIndexes(this.storage, logName(info));
        return true;
      }
    }
  }

  /** The transactor of a database, opened (its log replayed) on first use and shared after. */
  connect(name: string): Promise<Transactor> {
    checkDatabaseName(name);
    if (this.closed) fail('client/closed', 'This client is closed; create a new one.', {});
    let transactor = this.transactors.get(name);
    if (transactor === undefined) {
      transactor = this.open(name);
      this.transactors.set(name, transactor);
      transactor.catch(() => this.transactors.delete(name));
    }
    return transactor;
  }

  /** Every database's log name (`db-<id>`), by database name, as the catalog has them now. */
  async databaseLogs(): Promise<Map<string, string>> {
    return new Map((await this.readCatalog()).catalog.databases.map((info) => [info.name, logName(info)]));
  }

  /** The name of a database's log (`db-<id>`), read from the catalog; null when there is no such database. */
  async logOf(name: string): Promise<string | null> {
    checkDatabaseName(name);
    const info = (await this.readCatalog()).catalog.databases.find((d) => d.name === name);
    return info === undefined ? null : logName(info);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const transactor of this.transactors.values()) await (await transactor.catch(() => null))?.close();
    this.transactors.clear();
    await this.storage.close();
  }

  private async open(name: string): Promise<Transactor> {
    const info = (await this.readCatalog()).catalog.databases.find((d) => d.name === name);
    if (info === undefined) {
      fail('catalog/database-not-found', `No database named ${JSON.stringify(name)}; create it first (createDatabase) or check the name with listDatabases.`, { name });
    }
    return Transactor.open(this.storage, logName(info), this.options);
  }

  private async readCatalog(): Promise<{ catalog: Catalog; version: number | null }> {
    const record = await this.storage.getRecord(CATALOG_KEY);
    if (record === null) return { catalog: { databases: [] }, version: null };
    return { catalog: JSON.parse(new TextDecoder().decode(record.bytes)) as Catalog, version: record.version };
  }
}

function logName(info: DatabaseInfo): string {
  return `db-${info.id}`;
}

/** Deletes a deleted database's index root and segments (nothing can read them any more). */
async function deleteIndexes(storage: Storage, databaseId: string): Promise<void> {
  const keys: string[] = [];
  for await (const key of storage.listSegments(segmentPrefix(databaseId))) keys.push(key);
  for (let i = 0; i < keys.length; i += 500) await storage.deleteSegments(keys.slice(i, i + 500));
  const root = await storage.getRecord(rootKey(databaseId));
  if (root !== null) await storage.deleteRecord(rootKey(databaseId), root.version);
}

function encodeCatalog(catalog: Catalog): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(catalog));
}
