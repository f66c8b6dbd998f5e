//! The forms a caller may give a pattern in: parsed already, EDN text, or data.
import { fail } from '../util/errors.ts';
import { parsePattern, parsePatternText, type PullPattern } from './pattern.ts';

/** A parsed pattern, EDN text (`'[:person/name {:person/friend [*]}]'`), or EDN/JS data. */
export type PatternInput = PullPattern | string | readonly unknown[] | object;

type Reader = (text: string) => unknown;
let reader: Reader | null = null;

/** Installed by the EDN reader's module, which sits beside this one (see index.ts). */
export function installPatternReader(read: Reader): void {
  reader = read;
}

export function toPattern(input: PatternInput): PullPattern {
  if (isParsed(input)) return input;
  if (typeof input === 'string') {
    if (reader === null) return fail('pull/syntax', 'Pull pattern text needs the EDN reader, which is not loaded; pass the pattern as data.', { form: input });
    return parsePatternText(input, reader);
  }
  return parsePattern(input);
}

function isParsed(input: unknown): input is PullPattern {
  return typeof input === 'object' && input !== null && (input as { kind?: unknown }).kind === 'pattern' && Array.isArray((input as PullPattern).attributes);
}
