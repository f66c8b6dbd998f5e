import { describe, expect, it } from 'vitest';
import { txOfT, type Datom } from '../datom/datom.ts';
import { RowDatom } from '../db/datom-table.ts';
import { ATTR } from '../schema/bootstrap.ts';
import { AssertionError } from '../util/assert.ts';
import { isFactumError } from '../util/errors.ts';
import { Writer } from '../values/codec.ts';
import { decodeLogEntry, encodeLogEntry, PLAIN_INSTANT_LAG_MS_MAX, type LogEntryTransaction } from './log-record.ts';

const instant = new Date('2026-01-02T03:04:05.678Z');
/** The clock when the entries below are written: their instants are the clock's (no import of old dates). */
const committedMs = instant.getTime() + 250;
function transaction(t: number, extra: Partial<LogEntryTransaction> = {}): LogEntryTransaction {
  const tx = txOfT(t);
  const datoms: Datom[] = [new RowDatom(1000 + t, ATTR.doc, `doc ${t}`, tx, true), new RowDatom(tx, ATTR.txInstant, instant, tx, true)];
  return { t, nextUserN: 10 + t, nextDbN: 20 + t, datoms, ...extra };
}

/** Version 1 as it was written before keys, spelled out: entries without keys must keep these bytes. */
function versionOne(transactions: readonly LogEntryTransaction[]): Uint8Array {
  const w = new Writer();
  w.uint(1);
  w.uint(transactions.length);
  for (const tx of transactions) {
    w.uint(tx.t);
    w.uint(tx.nextUserN);
    w.uint(tx.nextDbN);
    w.uint(tx.datoms.length);
    for (const d of tx.datoms) {
      w.uint(d.e);
      w.uint(d.a);
      w.uint(d.added ? 1 : 0);
      w.value(d.v);
    }
  }
  return w.finish();
}

const plain = (logged: LogEntryTransaction) => ({ t: logged.t, nextUserN: logged.nextUserN, nextDbN: logged.nextDbN, datoms: logged.datoms.map((d) => [d.e, d.a, d.v, d.tx, d.added]) });

describe('log entries', () => {
  it('writes entries without keys as version 1, byte for byte, and decodes them', () => {
    const transactions = [transaction(5), transaction(6)];
    const bytes = encodeLogEntry(transactions, committedMs);
    expect(Buffer.from(bytes)).toEqual(Buffer.from(versionOne(transactions)));
    const decoded = decodeLogEntry(bytes, 0);
    expect(decoded.map(plain)).toEqual(transactions.map(plain));
    for (const logged of decoded) {
      expect(logged.idempotencyKey).toBeUndefined();
      expect(logged.tempids).toBeUndefined();
      expect(logged.committedMs).toBeUndefined();
    }
  });

  it('decodes version 1 entries written before keys existed', () => {
    const decoded = decodeLogEntry(versionOne([transaction(2)]), 3);
    expect(decoded.map(plain)).toEqual([plain(transaction(2))]);
  });

  it('writes version 2 when a transaction has a key, with its tempids; the others of the entry have none', () => {
    const tempids = Object.fromEntries([['order', 1007], ['__proto__', 1008], ['ünï', 3]]) as Record<string, number>;
    const transactions = [transaction(7), transaction(8, { idempotencyKey: 'req:8_a.b-C', tempids }), transaction(9)];
    const bytes = encodeLogEntry(transactions, committedMs);
    expect(bytes[0]).toBe(2);
    const decoded = decodeLogEntry(bytes, 0);
    expect(decoded.map((x) => x.committedMs)).toEqual([committedMs, committedMs, committedMs]);
    expect(decoded.map(plain)).toEqual(transactions.map(plain));
    expect(decoded.map((x) => x.idempotencyKey)).toEqual([undefined, 'req:8_a.b-C', undefined]);
    expect(decoded[1]!.tempids).toEqual(tempids);
    expect(Object.keys(decoded[1]!.tempids!)).toEqual(['order', '__proto__', 'ünï']);
    expect(decoded[0]!.tempids).toBeUndefined();
  });

  it('refuses to write a key that was not checked, or a key without tempids', () => {
    expect(() => encodeLogEntry([transaction(1, { idempotencyKey: 'a b', tempids: {} })], committedMs)).toThrow(AssertionError);
    expect(() => encodeLogEntry([transaction(1, { idempotencyKey: 'ab' })], committedMs)).toThrow(AssertionError);
  });

  it('reports damaged entries as storage/corrupt naming the position', () => {
    const keyed = (key: string, tempids: number): Uint8Array => {
      const w = new Writer();
      w.uint(2);
      w.uint(committedMs);
      w.raw(versionOne([transaction(4)]).subarray(1));
      w.string(key);
      w.uint(tempids);
      return w.finish();
    };
    expect(decodeLogEntry(keyed('ok', 0), 9)[0]!.idempotencyKey).toBe('ok');
    for (const bytes of [keyed('', 1), keyed('bad key', 0), keyed('k', 2), Uint8Array.from([3, 0]), keyed('ok', 0).subarray(0, 4)]) {
      let caught: unknown;
      try {
        decodeLogEntry(bytes, 9);
      } catch (error) {
        caught = error;
      }
      expect(isFactumError(caught, 'storage/corrupt')).toBe(true);
      expect((caught as Error).message).toContain('position 9');
    }
  });

  it('an acknowledged transaction dated in the past: records the clock at commit (version 2), keyed or not', () => {
    // An import of old history keeps its dates: the instant says nothing of when the entry was written.
    const lateMs = instant.getTime() + 365 * 86_400_000;
    for (const extra of [{}, { idempotencyKey: 'import-1', tempids: {} }]) {
      const bytes = encodeLogEntry([transaction(3, extra)], lateMs);
      expect(bytes[0]).toBe(2);
      const [decoded] = decodeLogEntry(bytes, 0);
      expect(decoded!.committedMs).toBe(lateMs);
      expect(plain(decoded!)).toEqual(plain(transaction(3)));
    }
    // Within the lag allowed, version 1 as always.
    expect(encodeLogEntry([transaction(3)], instant.getTime() + PLAIN_INSTANT_LAG_MS_MAX)[0]).toBe(1);
    expect(encodeLogEntry([transaction(3)], instant.getTime() + PLAIN_INSTANT_LAG_MS_MAX + 1)[0]).toBe(2);
  });
});
