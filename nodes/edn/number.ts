//! EDN numbers, scanned from a token the reader has already cut:
//!
//!   integer  [+-]? (0 | [1-9][0-9]*)          → number when safe, else bigint (`-0` is 0)
//!   bigint   integer N                         → bigint
//!   float    integer (. [0-9]*)? ([eE] [+-]? [0-9]+)?   with a fraction or exponent → number
//!   decimal  integer or float, then M          → BigDec
//!
//! Integers of up to 15 digits are accumulated while scanning (exact below 2^53), so the common
//! case allocates nothing.
import { BigDec } from '../values/values.ts';

/** Why a token is not a number; the reader turns it into an error at the token's position. */
export class NumberProblem {
  constructor(
    readonly message: string,
    readonly code: 'edn/syntax' | 'edn/unsupported' = 'edn/syntax',
  ) {}
}

/** The number that `text[start, end)` spells (it starts with a digit, or a sign and a digit). */
export function scanNumber(text: string, start: number, end: number): number | bigint | BigDec | NumberProblem {
  let i = start;
  let c = text.charCodeAt(i);
  if (c === 43 || c === 45) c = text.charCodeAt(++i);
  const digitsStart = i;
  let magnitude = 0;
  while (i < end && c >= 48 && c <= 57) {
    magnitude = magnitude * 10 + (c - 48);
    c = text.charCodeAt(++i);
  }
  if (text.charCodeAt(digitsStart) === 48 && i - digitsStart > 1) return invalid(text, start, end, 'an integer part may not have leading zeros');
  if (i === end) {
    if (i - digitsStart > 15) return bigInteger(text.slice(start, end));
    return text.charCodeAt(start) === 45 && magnitude !== 0 ? -magnitude : magnitude; // integers have no -0
  }
  return scanNonInteger(text, start, end, i);
}

/** The rest of a number whose integer part ends at `i`. */
function scanNonInteger(text: string, start: number, end: number, i: number): number | bigint | BigDec | NumberProblem {
  let c = text.charCodeAt(i);
  let isFloat = false;
  if (c === 46 /* . */) {
    isFloat = true;
    c = text.charCodeAt(++i);
    while (i < end && c >= 48 && c <= 57) c = text.charCodeAt(++i);
  }
  if (c === 101 || c === 69 /* e E */) {
    isFloat = true;
    c = text.charCodeAt(++i);
    if (c === 43 || c === 45) c = text.charCodeAt(++i);
    const exponentStart = i;
    while (i < end && c >= 48 && c <= 57) c = text.charCodeAt(++i);
    if (i === exponentStart) return invalid(text, start, end, 'an exponent needs digits');
  }
  if (i === end && isFloat) return Number(text.slice(start, end));
  if (i === end - 1 && c === 77 /* M */) return BigDec.parse(text.slice(start, i)) ?? invalid(text, start, end, 'not a decimal');
  if (i === end - 1 && c === 78 /* N */ && !isFloat) return BigInt(text.slice(start, i));
  if (c === 47 /* / */ && !isFloat) return new NumberProblem(`ratio ${text.slice(start, end)} is Clojure syntax, not EDN`, 'edn/unsupported');
  return invalid(text, start, end, `unexpected '${text[i]}'`);
}

/** An integer of 16 digits or more: a number when safe, else a bigint. */
function bigInteger(digits: string): number | bigint {
  const big = BigInt(digits);
  return big >= -9007199254740991n && big <= 9007199254740991n ? Number(big) : big;
}

function invalid(text: string, start: number, end: number, problem: string): NumberProblem {
  return new NumberProblem(`invalid number ${text.slice(start, end)}: ${problem}`);
}
