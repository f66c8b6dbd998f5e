//! The text of `#inst` literals: RFC 3339 timestamps, read and printed.
//!
//! Reading accepts what Clojure's reader accepts: any prefix of a full timestamp from the year on
//! (`2020`, `2020-01`, `2020-01-31T10:15`), an optional fraction of a second (kept to the
//! millisecond, the precision of an instant) and an optional offset (`Z`, `+02:00`, `-00:00`;
//! none means UTC). Years are four digits, or a sign and six digits (`+275760`, `-000001`), the
//! extended form `Date.prototype.toISOString` prints for years outside 0–9999, so every Date
//! prints and reads back. Every field is range-checked: `2021-02-29` is an error, not March 1st.

const instantPattern =
  /^(\d{4}|[+-]\d{6})(?:-(\d\d)(?:-(\d\d)(?:T(\d\d)(?::(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?)?)?)?(Z|[+-]\d\d:\d\d)?$/;

const daysInMonth = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** The Date that `text` names, or a description of what is wrong with it. */
export function parseInstant(text: string): Date | string {
  const m = instantPattern.exec(text);
  if (m === null) return 'expected an RFC 3339 timestamp such as "2020-01-31T10:15:00.000Z"';
  const year = Number(m[1]);
  const month = m[2] === undefined ? 1 : Number(m[2]);
  const day = m[3] === undefined ? 1 : Number(m[3]);
  const hour = m[4] === undefined ? 0 : Number(m[4]);
  const minute = m[5] === undefined ? 0 : Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  if (month < 1 || month > 12) return `month ${month} is not in 1-12`;
  const dayMax = month === 2 && isLeapYear(year) ? 29 : daysInMonth[month - 1]!;
  if (day < 1 || day > dayMax) return `day ${day} is not in 1-${dayMax}`;
  if (hour > 23) return `hour ${hour} is not in 0-23`;
  if (minute > 59) return `minute ${minute} is not in 0-59`;
  if (second > 59) return `second ${second} is not in 0-59`;
  const offsetMinutes = parseOffset(m[8]);
  if (typeof offsetMinutes === 'string') return offsetMinutes;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  const time = date.getTime() - offsetMinutes * 60_000;
  if (!(Math.abs(time) <= 8.64e15)) return 'the instant is outside the range of a Date (±275760 years)';
  return new Date(time);
}

function parseOffset(text: string | undefined): number | string {
  if (text === undefined || text === 'Z') return 0;
  const hours = Number(text.slice(1, 3));
  const minutes = Number(text.slice(4, 6));
  if (hours > 23 || minutes > 59) return `offset ${text} is not a valid UTC offset`;
  return (text[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

/** RFC 3339 text of a valid Date, in UTC with milliseconds: `2020-01-31T10:15:00.000Z`. */
export function printInstant(date: Date): string {
  return date.toISOString();
}
