//! The binary format of values shared by the codec's Writer and Reader (see codec.ts).

/** The deepest nesting of collections the codec writes and reads. */
export const nestingMax = 1000;

export const NIL = 0;
export const FALSE = 1;
export const TRUE = 2;
export const INT_POSITIVE = 3;
export const INT_NEGATIVE = 4;
export const FLOAT = 5;
export const BIGINT = 6;
export const STRING = 7;
export const KEYWORD = 8;
export const SYMBOL = 9;
export const BIGDEC = 10;
export const INSTANT = 11;
export const UUID = 12;
export const URI = 13;
export const BYTES = 14;
export const VECTOR = 15;
export const LIST = 16;
export const MAP = 17;
export const SET = 18;
export const TAGGED = 19;
export const OBJECT = 20;
export const SMALL_INT = 0x80;

/** Strings up to this many code units are encoded by hand; longer ones by TextEncoder. */
export const shortStringMax = 48;
