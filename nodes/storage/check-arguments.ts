//! Argument checks shared by every storage backend, so that all of them refuse the same bad input
//! with the same code and message. Positions and keys come from the layers above; a bad one is a
//! caller's mistake reported as an error (not an assertion) because the contract suite tests it.

import { fail } from '../util/errors.ts';

/** A log position or range bound: a non-negative safe integer. */
export function checkPosition(log: string, position: number, what = 'position'): void {
  if (!Number.isSafeInteger(position) || position < 0) {
    fail('storage/invalid-position', `log ${JSON.stringify(log)}: ${what} ${String(position)} is not a non-negative integer`, {
      log,
      [what]: position,
    });
  }
}

/** Appends have no gaps: `position` may be at most the log's length (equal: appended; less: taken). */
export function checkNoGap(log: string, position: number, length: number): void {
  checkPosition(log, position);
  if (position > length) {
    fail(
      'storage/invalid-position',
      `log ${JSON.stringify(log)}: cannot append at position ${position}, the log's length is ${length}; ` +
        `expected position ${length} (log positions have no gaps)`,
      { log, position, length },
    );
  }
}

/** The bounds of `readLog`; `end` undefined means the end of the log. */
export function checkRange(log: string, start: number, end: number | undefined): void {
  checkPosition(log, start, 'start');
  if (end !== undefined) checkPosition(log, end, 'end');
}

/** Log names and segment and record keys: non-empty strings (DynamoDB and S3 refuse empty keys). */
export function checkKey(kind: 'log' | 'segment' | 'record', key: string): void {
  if (typeof key !== 'string' || key.length === 0) {
    fail('storage/invalid-key', `${kind} key ${JSON.stringify(key)} is invalid; expected a non-empty string`, {
      kind,
      key,
    });
  }
  if (key.includes('\u0000')) {
    fail('storage/invalid-key', `${kind} key ${JSON.stringify(key)} contains a NUL character; expected none`, {
      kind,
      key,
    });
  }
}

/** The error of every call made after `close()`. */
export function failClosed(kind: string, operation: string): never {
  fail('client/closed', `${kind} storage is closed; ${operation} was called after close()`, { kind, operation });
}
