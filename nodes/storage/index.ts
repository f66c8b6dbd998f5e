// The storage backends and their shared protocol.
export type { LogEntry, Storage, VersionedRecord } from './protocol.ts';
export { createMemoryStorage } from './memory/memory-storage.ts';
export { openLocalStorage } from './local/local-storage.ts';
export type { LocalStorageOptions } from './local/local-storage.ts';
export type { FileSystem } from './local/file-system.ts';
export { withFaults, seededRandom } from './fault.ts';
export type { FaultControl, FaultEvent, FaultOptions, FaultyStorage, StorageOperation } from './fault.ts';
