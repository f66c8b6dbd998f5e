//! Tagged literals the reader interprets (`#inst`, `#uuid`, `#factum/uri`, `#factum/bytes`); any
//! other tag is kept as a Tagged value for the caller to interpret (`#db/id [...]`).
import { Tagged, Uri, Uuid } from '../values/values.ts';
import { decodeBase64 } from './base64.ts';
import { parseInstant } from './instant.ts';

/** Why a tagged literal is malformed; the reader turns it into an error at the tag's position. */
export class TagProblem {
  constructor(
    readonly message: string,
    readonly expected: string,
  ) {}
}

/** Tags the reader turns into other values. */
export const interpretedTags: ReadonlySet<string> = new Set(['inst', 'uuid', 'factum/uri', 'factum/bytes']);

/** The value of `#tag value`; `describe` shows a wrong value in the problem's message. */
export function readTaggedLiteral(tag: string, value: unknown, describe: (value: unknown) => string): unknown {
  if (!interpretedTags.has(tag)) return new Tagged(tag, value);
  if (typeof value !== 'string') return new TagProblem(`#${tag} must be followed by a string, found ${describe(value)}`, 'a string');
  switch (tag) {
    case 'inst': {
      const instant = parseInstant(value);
      return typeof instant === 'string' ? new TagProblem(`invalid #inst ${JSON.stringify(value)}: ${instant}`, 'an RFC 3339 timestamp') : instant;
    }
    case 'uuid':
      return Uuid.parse(value) ?? new TagProblem(`invalid #uuid ${JSON.stringify(value)}`, 'a UUID such as "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"');
    case 'factum/uri':
      return new Uri(value);
    default:
      return decodeBase64(value) ?? new TagProblem(`invalid #factum/bytes ${JSON.stringify(value)}`, 'padded base64 text');
  }
}
