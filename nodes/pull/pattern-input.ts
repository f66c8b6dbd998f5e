//! The forms a caller may give a pattern in: parsed already, EDN text, or data.
import { readEdn } from '../edn/reader.ts';
import { parsePattern, parsePatternText, type PullPattern } from './pattern.ts';

/** A parsed pattern, EDN text (`'[:person/name {:person/friend [*]}]'`), or EDN/JS data. */
export type PatternInput = PullPattern | string | readonly unknown[] | object;

export function toPattern(input: PatternInput): PullPattern {
  if (isParsed(input)) return input;
  if (typeof input === 'string') return parsePatternText(input, readEdn);
  return parsePattern(input);
}

function isParsed(input: unknown): input is PullPattern {
  return typeof input === 'object' && input !== null && (input as { kind?: unknown }).kind === 'pattern' && Array.isArray((input as PullPattern).attributes);
}
