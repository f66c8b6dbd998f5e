//! The node's log: one JSON line per event on stdout, which systemd appends to
//! /var/log/factum/node.log and the CloudWatch agent ships to the system's log group
//! (docs/deploy.md). Every line names its event in an `event` field (`request`, `transaction`,
//! `index-run`, `error`, `node/started`, ...; `log` when the caller named none), so CloudWatch Logs
//! Insights can filter on it: `filter event = "request" | stats avg(durationMs) by operation`.
//!
//!   {"level":"info","time":"2026-…Z","system":"demo","group":"primary","role":"primary",
//!    "node":"i-0abc…","event":"request","operation":"q","durationMs":3,"msg":"…"}
//!
//! Redaction is not optional: a line never carries a secret. Before a line is written (and when a
//! child logger's bindings are made), every object in it is walked at any depth and the value of
//! any member whose name is a secret's — `authorization`, `x-factum-…signature…`, anything with
//! `secret`, `password`, `token`, `signature`, `credential`, `private key`, `plaintext`, `key
//! material` or `data key` in its name — becomes `[redacted]`, as does any string that opens with an
//! HTTP authorization scheme (`Bearer …`, `AWS4-HMAC-SHA256 …`) and any byte array (key material is
//! bytes; segment bytes do not belong in a log either). Errors are logged as plain objects (type,
//! message, code, category, data, cause, stack) walked by the same rule. pino's own path-based
//! `redact` is not used: its wildcards reach one level, and request headers and error data nest.

import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** The fields every line of a node carries. */
export interface LogBase {
  readonly system: string;
  readonly group: string;
  readonly role: string;
  /** The node's name, e.g. its EC2 instance id or host name. @default - none */
  readonly node?: string;
}

export interface LoggerOptions {
  /** pino level: fatal, error, warn, info, debug, trace or silent. @default 'info' */
  readonly level?: string;
  /**
   * A stream, or a file descriptor written synchronously: a write of one line costs less CPU than
   * handing it to libuv's threads (measured: +5.5 µs a line against +17 µs asynchronously), and no
   * line waits in memory for an exit that may not flush it. @default 1 (stdout)
   */
  readonly destination?: NodeJS.WritableStream | number;
  readonly base: LogBase;
}

/** The events the node logs; any other name is allowed, these are the ones dashboards rely on. */
export type LogEvent =
  | 'node/started'
  | 'node/stopping'
  | 'node/stopped'
  | 'request'
  | 'transaction'
  | 'index-run'
  | 'error'
  | (string & {});

/** What replaces a secret. */
export const redacted = '[redacted]';

/** Member names whose values are secrets, whatever their case and wherever they nest. */
const secretName = /authorization|secret|password|passphrase|token|signature|credential|cookie|private[-_ ]?key|plaintext|key[-_ ]?material|data[-_ ]?key|^x-factum-.*sig/i;
/** Strings that are an HTTP authorization value, whatever member holds them. */
const secretValue = /^\s*(bearer|basic|digest|aws4-hmac-sha256|factum-hmac[\w-]*)\s/i;
/** Deeper than this, a value is summarized rather than walked (and cycles end here). */
const depthMax = 12;

/**
 * Creates the node's logger.
 *
 * @example
 * const log = createLogger({ base: { system: 'demo', group: 'primary', role: 'primary', node: hostname() } });
 * log.info({ event: 'request', operation: 'q', durationMs: 3, headers: request.headers }, 'query served');
 */
export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? 1;
  const stream: DestinationStream =
    typeof destination === 'number' ? pino.destination({ dest: destination, sync: true }) : (destination as unknown as DestinationStream);
  const { node, ...base } = options.base;
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: redactValue({ ...base, ...(node === undefined ? {} : { node }) }, 0, new WeakSet()) as Record<string, unknown>,
      timestamp: isoTime,
      // Errors are already plain objects here (formatters.log runs first); pino's own error
      // serializer would call them `Object` and fold their causes into the message.
      serializers: { err: (error: unknown) => error },
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (bindings) => redactValue(bindings, 0, new WeakSet()) as Record<string, unknown>,
        log: (object) => {
          const clean = redactFlat(object) ?? (redactValue(object, 0, new WeakSet()) as Record<string, unknown>);
          return typeof clean.event === 'string' ? clean : { event: 'log', ...clean };
        },
      },
    },
    stream,
  );
  // pino applies `formatters.bindings` to the root's base only, not to a child's bindings; a
  // child made from this logger (or from its children, which inherit this property) is redacted here.
  const child = logger.child;
  const setBindings = logger.setBindings;
  return Object.assign(logger, {
    child(this: Logger, bindings: Record<string, unknown>, childOptions?: Parameters<Logger['child']>[1]) {
      return child.call(this, redactSecrets(bindings) as Record<string, unknown>, childOptions);
    },
    setBindings(this: Logger, bindings: Record<string, unknown>) {
      setBindings.call(this, redactSecrets(bindings) as Record<string, unknown>);
    },
  }) as Logger;
}

/**
 * A copy of `value` with every secret replaced by `[redacted]` (the rule in the header). Exported
 * for the few places that put data in front of users other than through the log.
 */
export function redactSecrets(value: unknown): unknown {
  return redactValue(value, 0, new WeakSet());
}

function redactValue(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return secretValue.test(value) ? redacted : value;
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return redacted;
  if (seen.has(value)) return '[circular]';
  if (depth >= depthMax) return '[nested too deep]';
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1, seen));
    if (value instanceof Error) return redactMembers(errorMembers(value), depth, seen);
    if (value instanceof Map) return redactMembers(Object.fromEntries(value), depth, seen);
    if (value instanceof Set) return [...value].map((item) => redactValue(item, depth + 1, seen));
    if (value instanceof Date || value instanceof URL) return value;
    const json = (value as { toJSON?: unknown }).toJSON;
    if (typeof json === 'function') return redactValue(json.call(value), depth + 1, seen);
    return redactMembers(value as Record<string, unknown>, depth, seen);
  } finally {
    seen.delete(value);
  }
}

/**
 * A copy of a flat object (members of text, numbers, booleans, null) with its secrets replaced, or
 * null when it is not flat: the same rule as `redactValue`, without its walk, for the lines a node
 * writes most (a request's: event, operation, keyId, status, ms).
 */
function redactFlat(object: Record<string, unknown>): Record<string, unknown> | null {
  if (Object.getPrototypeOf(object) !== Object.prototype) return null;
  const clean: Record<string, unknown> = {};
  for (const name in object) {
    if (!Object.hasOwn(object, name)) continue;
    const value = object[name];
    if (typeof value === 'string') clean[name] = isSecretName(name) || secretValue.test(value) ? redacted : value;
    else if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') clean[name] = isSecretName(name) ? redacted : value;
    else return null;
  }
  return clean;
}

/** pino's ISO time, its text made once per millisecond: a busy node writes several lines in each. */
let isoTimeMs = Number.NaN;
let isoTimeText = '';

function isoTime(): string {
  const now = Date.now();
  if (now !== isoTimeMs) {
    isoTimeMs = now;
    isoTimeText = `,"time":"${new Date(now).toISOString()}"`;
  }
  return isoTimeText;
}

/** Whether a member name is a secret's, remembered: a node logs the same few names on every request. */
const secretNames = new Map<string, boolean>();

function isSecretName(name: string): boolean {
  let secret = secretNames.get(name);
  if (secret === undefined) {
    secret = secretName.test(name);
    if (secretNames.size < 10_000) secretNames.set(name, secret);
  }
  return secret;
}

function redactMembers(object: Record<string, unknown>, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const clean: Record<string, unknown> = {};
  for (const name in object) {
    if (!Object.hasOwn(object, name)) continue;
    clean[name] = isSecretName(name) ? redacted : redactValue(object[name], depth + 1, seen);
  }
  return clean;
}

/** An error as a plain object: its type, message, its own fields (code, category, data), cause and stack. */
function errorMembers(error: Error): Record<string, unknown> {
  const members: Record<string, unknown> = { type: error.name, message: error.message };
  for (const [name, member] of Object.entries(error)) members[name] = member;
  if (error.cause !== undefined) members.cause = error.cause;
  if (error.stack !== undefined) members.stack = error.stack;
  return members;
}
