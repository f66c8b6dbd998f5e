//! The directory level of the segment cache stack (local SSD; on AWS also the EFS level): one file
//! per segment, named by its address, under `directory/ab/abcdef…`.
//!
//! Writes are atomic (a temporary file renamed into place), so a reader never sees half a file.
//! Every file read is checked against its address (SHA-256); a file that fails — a torn write
//! from a crash, a flipped bit on disk — is removed and read again from the next level, which
//! repairs the cache. Bytes from the next level are checked too: the cache never keeps, and
//! never serves, a segment that does not match its address. A failure of the cache directory
//! itself (full disk, permissions) never fails a read: the level is skipped for that segment.
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FactumError } from '../util/errors.ts';
import { matchesAddress } from '../segment/envelope.ts';
import { processIoStats, type IoRecorder } from './io-stats.ts';
import type { SegmentStore } from './segment-store.ts';

const ADDRESS = /^[0-9a-f]{64}$/;

export class DirectoryCache implements SegmentStore {
  /** Files found corrupt and replaced since this level was made. */
  repairs = 0;
  /** Cache writes that failed (e.g. a full disk); the reads they belonged to still succeeded. */
  writeFailures = 0;

  constructor(
    private readonly inner: SegmentStore,
    private readonly directory: string,
    readonly level = 'directory',
  ) {}

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
      return cached;
    }
    if (cached !== null) {
      this.repairs++;
      await unlink(path).catch(() => undefined);
    }
    recorder.miss(this.level, performance.now() - start);
    const bytes = await this.inner.get(address, recorder);
    if (bytes === null) return null;
    if (!matchesAddress(address, bytes)) {
      throw new FactumError('storage/corrupt', `segment ${address} read from ${this.inner.level} does not hash to its address`, { key: address, level: this.inner.level });
    }
    await this.keep(path, bytes);
    return bytes;
  }

  async put(address: string, bytes: Uint8Array): Promise<void> {
    await this.inner.put(address, bytes);
    await this.keep(this.pathOf(address), bytes);
  }

  /** Writes the file atomically; a failure only costs the cache entry. */
  private async keep(path: string, bytes: Uint8Array): Promise<void> {
    const temporary = join(this.directory, `.tmp-${randomBytes(8).toString('hex')}`);
    try {
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(temporary, bytes);
      await rename(temporary, path);
    } catch {
      this.writeFailures++;
      await unlink(temporary).catch(() => undefined);
    }
  }
}
