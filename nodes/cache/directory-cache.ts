//! The directory level of the segment cache stack (local SSD; on AWS also the EFS level): one file
//! per segment, named by its address, under `directory/ab/abcdef…`.
//!
//! Writes are atomic (a temporary file renamed into place), so a reader never sees half a file.
//! Every file read is checked against its address (SHA-256); a file that fails — a torn write
//! from a crash, a flipped bit on disk — is removed and read again from the next level, which
//! repairs the cache. Bytes from the next level are checked too: the cache never keeps, and
//! never serves, a segment that does not match its address. A failure of the cache directory
//! itself (full disk, permissions) never fails a read: the level is skipped for that segment.
//!
//! The level holds at most `bytesMax` bytes of segments: past it, the least recently used files
//! are removed (down to nine tenths of the bound). Recency is this process's reads and writes;
//! files it has not touched count by their modification time, from a scan of the directory when
//! the level is made (in the background: reads do not wait for it) and again when the bound is
//! passed and the last scan is over ten minutes old, so that files other processes added (the
//! EFS level is shared by a system's nodes) count too. A file another process removed is only a
//! miss here: it is read from the next level.
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FactumError } from '../util/errors.ts';
import { matchesAddress } from '../segment/envelope.ts';
import { processIoStats, type IoRecorder } from './io-stats.ts';
import type { SegmentStore } from './segment-store.ts';

const ADDRESS = /^[0-9a-f]{64}$/;

/** How old the last scan of the directory may be when an eviction starts. */
const RESCAN_MS = 10 * 60 * 1000;

/** The default bound of a directory level. */
export const DEFAULT_DIRECTORY_BYTES_MAX = 8 * 1024 ** 3;

export interface DirectoryCacheOptions {
  /** The level's name in I/O statistics. @default - 'directory' */
  readonly level?: string;
  /** Bytes of segment files kept at most. @default - 8 GiB */
  readonly bytesMax?: number;
}

export class DirectoryCache implements SegmentStore {
  /** Files found corrupt and replaced since this level was made. */
  repairs = 0;
  /** Cache writes that failed (e.g. a full disk); the reads they belonged to still succeeded. */
  writeFailures = 0;
  /** Files removed to keep the level under its bound. */
  evictions = 0;
  readonly level: string;
  readonly bytesMax: number;
  /** The files this level knows of, least recently used first (Map order): size and last use (ms). */
  private files = new Map<string, { size: number; usedMs: number }>();
  private bytes = 0;
  private scanning: Promise<void> | null;
  private evicting: Promise<void> | null = null;
  private scannedAtMs = 0;

  constructor(
    private readonly inner: SegmentStore,
    private readonly directory: string,
    settings: DirectoryCacheOptions = {},
  ) {
    this.level = settings.level ?? 'directory';
    this.bytesMax = settings.bytesMax ?? DEFAULT_DIRECTORY_BYTES_MAX;
    if (!Number.isSafeInteger(this.bytesMax) || this.bytesMax < 1) {
      throw new FactumError('cache/invalid-option', `bytesMax of the ${this.level} cache level must be a positive integer, got ${String(settings.bytesMax)}`, { bytesMax: settings.bytesMax });
    }
    this.scanning = this.scan()
      .catch(() => undefined) // an unreadable directory: the level starts empty
      .finally(() => (this.scanning = null));
  }

  /** Bytes of segment files the level knows it holds. */
  get bytesHeld(): number {
    return this.bytes;
  }

  /** Resolves once the scan started when the level was made is done (tests). */
  async ready(): Promise<void> {
    await this.scanning;
  }

  private remember(address: string, size: number): void {
    this.bytes += size - (this.files.get(address)?.size ?? 0);
    this.files.delete(address);
    this.files.set(address, { size, usedMs: Date.now() });
    this.overBound();
  }

  private forget(address: string): void {
    const file = this.files.get(address);
    if (file === undefined) return;
    this.bytes -= file.size;
    this.files.delete(address);
  }

  /**
   * Learns the files in the directory. Each counts as used at its last use by this process, or
   * at its modification time if later or if this process never used it; a file this process
   * knew that is gone (another process removed it) is forgotten unless used during the scan.
   */
  private async scan(): Promise<void> {
    const startedMs = Date.now();
    const found: Array<{ address: string; size: number; mtimeMs: number }> = [];
    const shards = await readdir(this.directory).catch(() => [] as string[]);
    for (const shard of shards) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      const names = (await readdir(join(this.directory, shard)).catch(() => [] as string[])).filter((name) => ADDRESS.test(name) && name.startsWith(shard));
      const infos = await Promise.all(names.map((name) => stat(join(this.directory, shard, name)).catch(() => null)));
      infos.forEach((info, i) => {
        if (info !== null && info.isFile()) found.push({ address: names[i]!, size: info.size, mtimeMs: info.mtimeMs });
      });
    }
    this.scannedAtMs = Date.now();
    const known = this.files;
    const entries = found.map(({ address, size, mtimeMs }) => ({ address, size, usedMs: Math.max(mtimeMs, known.get(address)?.usedMs ?? 0) }));
    const seen = new Set(found.map((file) => file.address));
    for (const [address, file] of known) if (!seen.has(address) && file.usedMs >= startedMs) entries.push({ address, ...file });
    entries.sort((x, y) => x.usedMs - y.usedMs);
    this.files = new Map(entries.map(({ address, size, usedMs }) => [address, { size, usedMs }]));
    this.bytes = entries.reduce((sum, file) => sum + file.size, 0);
  }

  /**
   * Past the bound: rescans if the last scan is older than RESCAN_MS (so other processes' files
   * count too, without a scan of a large shared directory at every eviction), then removes the
   * least recently used files.
   */
  private async evict(): Promise<void> {
    if (Date.now() - this.scannedAtMs > RESCAN_MS) await this.scan();
    const target = Math.floor(this.bytesMax * 0.9);
    while (this.bytes > target) {
      const oldest = this.files.keys().next();
      if (oldest.done === true) break;
      const address = oldest.value;
      this.forget(address);
      await unlink(this.pathOf(address)).catch(() => undefined); // already gone: another process removed it
      this.evictions++;
    }
  }

  private overBound(): void {
    if (this.bytes <= this.bytesMax || this.scanning !== null || this.evicting !== null) return;
    this.evicting = this.evict()
      .catch(() => undefined) // a file that cannot be removed stays; the next write tries again
      .finally(() => (this.evicting = null));
  }

  /** Resolves once no eviction is under way (tests). */
  async settled(): Promise<void> {
    while (this.evicting !== null || this.scanning !== null) await (this.evicting ?? this.scanning);
    this.overBound();
    while (this.evicting !== null) await this.evicting;
  }

  pathOf(address: string): string {
    if (!ADDRESS.test(address)) {
      throw new FactumError('storage/invalid-key', `segment address ${JSON.stringify(address)} is invalid; expected 64 lower-case hex digits`, { key: address });
    }
    return join(this.directory, address.slice(0, 2), address);
  }

  async get(address: string, recorder: IoRecorder = processIoStats): Promise<Uint8Array | null> {
    const path = this.pathOf(address);
    const start = performance.now();
    const cached = await readFile(path).catch(() => null);
    if (cached !== null && matchesAddress(address, cached)) {
      recorder.hit(this.level, cached.length, performance.now() - start);
      this.remember(address, cached.length);
      return cached;
    }
    if (cached !== null) {
      this.repairs++;
      this.forget(address);
      await unlink(path).catch(() => undefined);
    }
    recorder.miss(this.level, performance.now() - start);
    const bytes = await this.inner.get(address, recorder);
    if (bytes === null) return null;
    if (!matchesAddress(address, bytes)) {
      throw new FactumError('storage/corrupt', `segment ${address} read from ${this.inner.level} does not hash to its address`, { key: address, level: this.inner.level });
    }
    await this.keep(address, path, bytes);
    return bytes;
  }

  async put(address: string, bytes: Uint8Array): Promise<void> {
    await this.inner.put(address, bytes);
    await this.keep(address, this.pathOf(address), bytes);
  }

  /** Writes the file atomically; a failure only costs the cache entry. */
  private async keep(address: string, path: string, bytes: Uint8Array): Promise<void> {
    const temporary = join(this.directory, `.tmp-${randomBytes(8).toString('hex')}`);
    try {
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(temporary, bytes);
      await rename(temporary, path);
      this.remember(address, bytes.length);
    } catch {
      this.writeFailures++;
      await unlink(temporary).catch(() => undefined);
    }
  }
}
