// The segment cache stack: memory (decoded nodes) -> directory (files) -> storage.
export { IoContext, processIoStats, recorderFor } from './io-stats.ts';
export type { IoRecorder, IoStats, LevelStats } from './io-stats.ts';
export { StorageSegments } from './segment-store.ts';
export type { SegmentStore } from './segment-store.ts';
export { DirectoryCache } from './directory-cache.ts';
export { NodeCache, DEFAULT_CACHE_BYTES_MAX } from './node-cache.ts';
export type { NodeCacheOptions } from './node-cache.ts';
