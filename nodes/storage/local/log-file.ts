//! One log in one append-only file (layout in log-frame.ts).
//!
//! Appends are serialized: each writes its frame at the end of the file and fsyncs before the
//! promise resolves, so at most one frame is ever unacknowledged, and only the last one. That makes
//! recovery exact when the file is first used:
//!
//!   [header][frame 0][frame 1] ... [frame n-1][bad bytes ........]
//!                                              ^ first bad frame
//!   - nothing valid after it: a torn tail, never acknowledged -> truncate it away
//!   - a valid frame after it:  acknowledged data damaged     -> refuse with storage/corrupt
//!
//! The scan leaves an offset index (8 bytes per entry) so that `length` is O(1) and a read starts
//! at its first frame directly. The position condition is checked against that in-memory length;
//! the directory lock guarantees that no other process writes. If a write or fsync fails, the file
//! is truncated back to its acknowledged end; if even that fails, the log is unusable until the
//! storage is opened again (which scans it again).
//!
//! The offsets are also kept beside the file (offsets-file.ts), so the scan on first use starts at
//! the last frame they name (checking it) rather than at the start of the file: opening a log
//! reads one frame whatever its length (and the offsets file, 12 bytes an entry). The frames
//! before are checked when a read reaches them: damage there is storage/corrupt on that read, not
//! on open.

import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { LogEntry } from '../protocol.ts';
import { FactumError, fail } from '../../util/errors.ts';
import { AssertionError } from '../../util/assert.ts';
import { checkNoGap } from '../check-arguments.ts';
import type { FileSystem } from './file-system.ts';
import { io, ioError, removeFileIfExists, replaceFileDurably, syncDirectory, systemCode, writeFully } from './file-system.ts';
import { decodeFrameHeader, encodeFileHeader, encodeFrame, fileHeaderLength, fileHeaderProblem, frameHeaderLength } from './log-frame.ts';
import { findValidFrameAfter, readAt, readFrames } from './frame-reader.ts';
import { OffsetsWriter, offsetsPath, readOffsets } from './offsets-file.ts';
import { SerialQueue } from './serial-queue.ts';

/** File offsets of every frame, by position: a growable array of doubles. */
class OffsetIndex {
  private offsets = new Float64Array(64);
  length = 0;

  push(offset: number): void {
    if (this.length === this.offsets.length) {
      const grown = new Float64Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    this.offsets[this.length++] = offset;
  }

  get(position: number): number {
    if (position < 0 || position >= this.length) throw new AssertionError(`offset of position ${position} of ${this.length}`);
    return this.offsets[position];
  }
}

/** An open log file (or a log with no file yet: `handle` null) and what the scan learned. */
interface OpenFile {
  handle: FileHandle | null;
  readonly offsets: OffsetIndex;
  /** The offset just after the last acknowledged frame. */
  end: number;
  readers: number;
  retired: boolean;
  /** Keeps the offsets file beside the log (null: none is written, e.g. after a failure). */
  offsetsFile: OffsetsWriter | null;
}

export interface LogFileOptions {
  readonly fileSystem: FileSystem;
  readonly filePath: string;
  readonly temporaryDirectory: string;
}

export class LogFile {
  private readonly queue = new SerialQueue();
  private opening: Promise<OpenFile> | null = null;
  private unusable: FactumError | null = null;
  private closed = false;

  constructor(private readonly options: LogFileOptions) {}

  async length(): Promise<number> {
    return (await this.open()).offsets.length;
  }

  append(log: string, position: number, bytes: Uint8Array): Promise<boolean> {
    return this.queue.run(async () => {
      const file = await this.open();
      checkNoGap(log, position, file.offsets.length);
      if (position < file.offsets.length) return false;
      const frame = encodeFrame(position, bytes);
      const handle = file.handle ?? (await this.create(file));
      await this.writeFrame(file, handle, frame);
      const offset = file.end;
      file.offsets.push(offset);
      file.end += frame.length;
      if (position === 0) {
        await file.offsetsFile?.close();
        file.offsetsFile = await OffsetsWriter.open(this.options.fileSystem, this.offsetsFilePath, decodeFrameHeader(frame, 0)!.checksum, 0, [offset]);
      } else {
        await file.offsetsFile?.record(position, offset);
      }
      return true;
    });
  }

  /** Entries with start <= position < end, as of the call (appends made during the read are not seen). */
  async *read(start: number, end: number | undefined): AsyncGenerator<LogEntry> {
    const file = await this.open();
    const stop = Math.min(end ?? file.offsets.length, file.offsets.length);
    if (start >= stop || file.handle === null) return;
    const handle = file.handle;
    const endOffset = stop === file.offsets.length ? file.end : file.offsets.get(stop);
    file.readers++;
    try {
      for await (const read of readFrames(handle, file.offsets.get(start), endOffset, start)) {
        if (read.kind === 'bad') this.failCorrupt(read.offset, read.problem, 'was acknowledged');
        yield { position: read.position, bytes: read.bytes };
      }
    } catch (error) {
      throw ioError('read', this.options.filePath, error);
    } finally {
      await this.release(file);
    }
  }

  /** Removes the file; the log is empty afterwards. */
  delete(): Promise<void> {
    return this.queue.run(async () => {
      // A log that failed to open (even one refused as corrupt) can still be deleted: null here.
      const current = this.opening === null ? null : await this.opening.catch(() => null);
      this.opening = null;
      this.unusable = null;
      if (current !== null) await this.retire(current);
      // The offsets first: a crash in between leaves a log that is scanned, never stale offsets.
      await removeFileIfExists(this.options.fileSystem, this.offsetsFilePath);
      if (await removeFileIfExists(this.options.fileSystem, this.options.filePath)) {
        await syncDirectory(this.options.fileSystem, path.dirname(this.options.filePath));
      }
    });
  }

  /** Waits for queued appends, then closes the file. */
  close(): Promise<void> {
    return this.queue.run(async () => {
      this.closed = true;
      const current = this.opening === null ? null : await this.opening.catch(() => null);
      this.opening = null;
      if (current !== null) await this.retire(current);
    });
  }

  private open(): Promise<OpenFile> {
    if (this.unusable !== null) return Promise.reject(this.unusable);
    if (this.opening === null) {
      if (this.closed) {
        return Promise.reject(new FactumError('client/closed', `local storage is closed; log ${this.options.filePath} was used after close()`));
      }
      const opening = this.scan();
      this.opening = opening;
      opening.catch(() => {
        if (this.opening === opening) this.opening = null;
      });
    }
    return this.opening;
  }

  private async scan(): Promise<OpenFile> {
    const { fileSystem, filePath } = this.options;
    let handle: FileHandle;
    try {
      handle = await fileSystem.open(filePath, 'r+');
    } catch (error) {
      if (systemCode(error) === 'ENOENT') return { handle: null, offsets: new OffsetIndex(), end: 0, readers: 0, retired: false, offsetsFile: null };
      throw ioError('open', filePath, error);
    }
    try {
      return await this.recover(handle);
    } catch (error) {
      await handle.close();
      throw ioError('scan', filePath, error);
    }
  }

  private get offsetsFilePath(): string {
    return offsetsPath(this.options.filePath);
  }

  private async recover(handle: FileHandle): Promise<OpenFile> {
    const size = (await handle.stat()).size;
    const problem = fileHeaderProblem(await readAt(handle, 0, fileHeaderLength));
    if (problem !== null) this.failCorrupt(0, problem, 'is not a log file header');
    const firstChecksum = await this.firstChecksum(handle);
    const stored = await readOffsets(this.options.fileSystem, this.offsetsFilePath, fileHeaderLength, size);
    // The offsets file's entries, when it belongs with this log (its frame 0 has their checksum).
    let known = stored !== null && stored.firstChecksum === firstChecksum ? stored.offsets : [];
    // Scan from the last frame the offsets name (checking it), else from the first.
    let file = await this.scanFrom(handle, size, known, Math.max(0, known.length - 1));
    if (file === null) {
      known = [];
      file = (await this.scanFrom(handle, size, known, 0))!;
    }
    if (file.offsets.length > 0) {
      const offsets = file.offsets;
      const after = Array.from({ length: offsets.length - known.length }, (_, i) => offsets.get(known.length + i));
      file.offsetsFile = await OffsetsWriter.open(this.options.fileSystem, this.offsetsFilePath, firstChecksum, known.length, after);
    }
    return file;
  }

  /** The checksum field of frame 0's header (any value when the file holds no full header). */
  private async firstChecksum(handle: FileHandle): Promise<number> {
    const header = await readAt(handle, fileHeaderLength, frameHeaderLength);
    return header.length === frameHeaderLength ? (decodeFrameHeader(header, 0)?.checksum ?? -1) : -1;
  }

  /**
   * Scans the frames from position `from` (at `known[from]`, or the first frame when `known` is
   * empty), taking `known[0..from)` as the offsets before it. Null when `known` named a frame that
   * is not there: the offsets file is wrong, and the caller scans the whole file instead.
   */
  private async scanFrom(handle: FileHandle, size: number, known: readonly number[], from: number): Promise<OpenFile | null> {
    const file: OpenFile = { handle, offsets: new OffsetIndex(), end: fileHeaderLength, readers: 0, retired: false, offsetsFile: null };
    for (let i = 0; i < from; i++) file.offsets.push(known[i]!);
    const start = known.length === 0 ? fileHeaderLength : known[from]!;
    for await (const read of readFrames(handle, start, size, from)) {
      if (read.kind === 'bad') {
        if (known.length > 0 && read.offset === start) return null;
        await this.handleBadFrame(handle, read.offset, read.problem, file.offsets.length, size);
        break;
      }
      file.offsets.push(read.offset);
      file.end = read.offset + frameHeaderLength + read.bytes.length;
    }
    return file;
  }

  /** A bad frame on open: a torn tail is cut off; damage followed by valid frames is refused. */
  private async handleBadFrame(handle: FileHandle, offset: number, problem: string, position: number, size: number): Promise<void> {
    const next = await findValidFrameAfter(handle, offset, size, position);
    if (next !== null) {
      this.failCorrupt(offset, problem, `is followed by a valid entry at offset ${next}, so acknowledged entries are damaged`);
    }
    await handle.truncate(offset);
    await handle.sync();
  }

  private failCorrupt(offset: number, problem: string, context: string): never {
    const { filePath } = this.options;
    fail(
      'storage/corrupt',
      `log file ${filePath} is damaged at offset ${offset}: ${problem}; the entry there ${context}. ` +
        `Expected intact frames; restore the file from a backup (factum will not drop acknowledged entries)`,
      { path: filePath, offset, problem },
    );
  }

  /** Creates the file with its header, atomically, and opens it. */
  private async create(file: OpenFile): Promise<FileHandle> {
    const { fileSystem, filePath, temporaryDirectory } = this.options;
    await replaceFileDurably(fileSystem, temporaryDirectory, filePath, encodeFileHeader());
    file.handle = await io('open', filePath, () => fileSystem.open(filePath, 'r+'));
    file.end = fileHeaderLength;
    return file.handle;
  }

  private async writeFrame(file: OpenFile, handle: FileHandle, frame: Buffer): Promise<void> {
    try {
      await writeFully(handle, frame, file.end);
      // fdatasync: flushes the data and the file size (all a reader needs), skips timestamps.
      await handle.datasync();
    } catch (error) {
      const cause = ioError('append to', this.options.filePath, error);
      await this.truncateBack(file, handle, cause);
      throw cause;
    }
  }

  /** After a failed append: back to the acknowledged end, or the log is unusable until reopened. */
  private async truncateBack(file: OpenFile, handle: FileHandle, cause: FactumError): Promise<void> {
    try {
      await handle.truncate(file.end);
      await handle.datasync();
    } catch (error) {
      this.unusable = new FactumError(
        'storage/io',
        `log file ${this.options.filePath} could not be restored after a failed append (${cause.message}); ` +
          `open the storage again to recover it`,
        { path: this.options.filePath, systemCode: systemCode(error) },
        { cause: error },
      );
      this.opening = null;
      await this.retire(file);
    }
  }

  private async retire(file: OpenFile): Promise<void> {
    file.retired = true;
    const offsetsFile = file.offsetsFile;
    file.offsetsFile = null;
    await offsetsFile?.close();
    if (file.readers === 0 && file.handle !== null) {
      const handle = file.handle;
      file.handle = null;
      await io('close', this.options.filePath, () => handle.close());
    }
  }

  private async release(file: OpenFile): Promise<void> {
    file.readers--;
    if (file.retired) await this.retire(file);
  }
}
