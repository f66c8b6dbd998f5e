//! Character classes of EDN text and the rules for symbol and keyword names, shared by the reader
//! (which scans tokens) and the printer (which decides whether a string can print as a keyword).
//!
//! A token is a maximal run of characters that are neither whitespace nor delimiters. The reader
//! cuts a token first and then decides what it is (number, symbol, nil/true/false), as Clojure's
//! reader does, so `foo@bar` is one malformed token rather than a symbol followed by junk.

/** Whitespace: space, tab, newline, return, form feed, vertical tab, and the comma. */
export const WHITESPACE = 1;
/** Ends a token: whitespace and `( ) [ ] { } " ; \`. */
export const DELIMITER = 2;
/** May appear in a symbol or keyword name after its first character. */
export const NAME = 4;
/** May begin a symbol (letters and `* ! _ ? $ % & = < >`; `+ - .` and `/` are handled apart). */
export const NAME_START = 8;
export const DIGIT = 16;

/** Class bits of every ASCII character; characters from 128 up may start and continue names. */
export const asciiClass = new Uint8Array(128);

function mark(characters: string, bits: number): void {
  for (let i = 0; i < characters.length; i++) asciiClass[characters.charCodeAt(i)]! |= bits;
}

mark(' \t\n\r\f\v,', WHITESPACE | DELIMITER);
mark('()[]{}";\\', DELIMITER);
const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
mark(letters + '*!_?$%&=<>', NAME_START | NAME);
mark('0123456789', DIGIT | NAME);
mark('+-./:#\'', NAME);

/** The class bits of a UTF-16 code unit. */
export function classOf(code: number): number {
  return code < 128 ? asciiClass[code]! : NAME_START | NAME;
}

export function isWhitespace(code: number): boolean {
  return code < 128 && (asciiClass[code]! & WHITESPACE) !== 0;
}

/** True when `code` ends a token (end of text counts as well: pass NaN). */
export function isDelimiter(code: number): boolean {
  return code !== code || (code < 128 && (asciiClass[code]! & DELIMITER) !== 0);
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/**
 * Why `text` is not a valid symbol name, or null when it is. The rules are EDN's: a name starts
 * with a non-digit; `+ - .` may start one only when no digit follows; at most one `/` separates a
 * non-empty namespace from a non-empty name (`/` alone is the division symbol); `:` may not
 * start, end or double (those forms are Clojure's auto-resolved keywords).
 */
export function symbolProblem(text: string): string | null {
  if (text === '/') return null;
  if (text.length === 0) return 'a name cannot be empty';
  const slash = text.indexOf('/');
  if (slash < 0) return partProblem(text);
  if (slash === 0 || slash === text.length - 1) return "'/' must separate a namespace from a name";
  if (text.indexOf('/', slash + 1) >= 0) return "a name may contain only one '/'";
  return partProblem(text.slice(0, slash)) ?? partProblem(text.slice(slash + 1));
}

function partProblem(part: string): string | null {
  const first = part.charCodeAt(0);
  const firstClass = classOf(first);
  if ((firstClass & NAME_START) === 0) {
    const signOrDot = first === 43 || first === 45 || first === 46; // + - .
    if (!signOrDot) return `a name cannot start with '${part[0]}'`;
    if (isDigit(part.charCodeAt(1))) return `'${part[0]}' followed by a digit starts a number, not a name`;
  }
  for (let i = 1; i < part.length; i++) {
    if ((classOf(part.charCodeAt(i)) & NAME) === 0) return `'${part[i]}' is not allowed in a name`;
  }
  if (part.includes('::') || part.charCodeAt(part.length - 1) === 58) return "':' may not end or repeat in a name";
  return null;
}

/**
 * Why `text` (without its colon) is not a valid keyword name, or null. Keywords follow the symbol
 * rules, except that, as in Clojure's reader, the name may start with a digit (`:1st`).
 */
export function keywordProblem(text: string): string | null {
  if (text.charCodeAt(0) === 58) return "'::' (auto-resolved keywords) is not EDN";
  if (isDigit(text.charCodeAt(0))) return symbolProblem('a' + text);
  const slash = text.indexOf('/');
  if (slash > 0 && isDigit(text.charCodeAt(slash + 1))) {
    return symbolProblem(text.slice(0, slash + 1) + 'a' + text.slice(slash + 1));
  }
  return symbolProblem(text);
}

/** Names that read as something other than a symbol. */
export function isReservedSymbol(text: string): boolean {
  return text === 'nil' || text === 'true' || text === 'false';
}
