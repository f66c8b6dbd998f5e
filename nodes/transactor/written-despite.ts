//! An append to the log whose failure is ambiguous: the failure may have come after the write
//! (a timeout, a dropped connection), so the entry may be there all the same.
//!
//! Invariants: the position is read back, never written again; exactly these bytes there count as
//! written (the batch is committed), other bytes as the position taken by another writer (the
//! fence), and nothing there, or a failed read, rethrows the append's failure (nothing is known
//! to be written: the batch is not acknowledged).
import type { Storage } from '../storage/protocol.ts';

/**
 * A failed append may still have been written (the failure came after the write). Reads the
 * position back: our bytes there mean the batch is committed, another's that the position was
 * taken (false); nothing there, or a failed read, rethrows `error`.
 */
export async function writtenDespite(storage: Storage, log: string, position: number, error: unknown, bytes: Uint8Array): Promise<boolean> {
  let stored: Uint8Array | null = null;
  try {
    for await (const entry of storage.readLog(log, position, position + 1)) stored = entry.bytes;
  } catch {
    throw error;
  }
  if (stored === null) throw error;
  if (Buffer.compare(Buffer.from(stored), Buffer.from(bytes)) === 0) return true;
  return false;
}
