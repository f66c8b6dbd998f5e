//! Signed requests: every request to a node carries an HMAC-SHA256 signature made with an access
//! key's secret over everything that decides what the request does (AWS SigV4's shape, simplified).
//!
//! Headers the client adds:
//!
//!   x-factum-date             the signing time, ms since the epoch, decimal
//!   x-factum-content-sha256   the hex SHA-256 of the body
//!   authorization             FACTUM-HMAC-SHA256 KeyId=<id>, SignedHeaders=<a;b;c>, Signature=<hex>
//!
//! Signed headers: host, content-type, x-factum-date, x-factum-content-sha256, and every other
//! `x-factum-*` header of the request (an idempotency key, a basis t, the remote client's nonce,
//! which keeps two requests alike in every byte and millisecond apart): a node refuses a request
//! carrying an `x-factum-*` header that is not signed, so none can be added on the way.
//!
//! The canonical request, lines joined by "\n" (no trailing newline):
//!
//!   <method>                        as sent, upper case
//!   <path>                          path and query string, exactly as sent
//!   <name>:<trimmed value>          one line per signed header, sorted by name; an absent header
//!   ...                             has the empty value
//!   <signed header names>           joined by ";"
//!   <body sha256, hex>
//!   <timestamp>                     the x-factum-date text
//!   <key id>
//!   <system>
//!
//! signing key = HMAC-SHA256(key: secret as UTF-8 text, data: "FACTUM-HMAC-SHA256\n" + system)
//! signature   = hex(HMAC-SHA256(key: signing key, data: canonical request as UTF-8))
//!
//! The system enters both the signing key and the canonical request, so a key of one system never
//! signs a request another system accepts. Client side: imports only node:crypto and errors.

import { createHash, createHmac } from 'node:crypto';
import { fail } from '../../nodes/util/errors.ts';

export const signingAlgorithm = 'FACTUM-HMAC-SHA256';
export const dateHeader = 'x-factum-date';
export const contentHashHeader = 'x-factum-content-sha256';
/** A random value the remote client signs into every request, so that no two of its requests share a signature. */
export const nonceHeader = 'x-factum-nonce';
/** Every signature covers these, present or not. */
export const requiredSignedHeaders: readonly string[] = ['content-type', 'host', contentHashHeader, dateHeader];

/** What a signature covers; `headers` by lower-case name, values as sent. */
export interface CanonicalRequestParts {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Lower-case, sorted, unique. */
  readonly signedHeaders: readonly string[];
  readonly bodySha256: string;
  readonly timestamp: string;
  readonly keyId: string;
  readonly system: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The canonical request (see the header); the server rebuilds it from what it received. */
export function canonicalRequest(parts: CanonicalRequestParts): string {
  const headerLines = parts.signedHeaders.map((name) => `${name}:${(parts.headers[name] ?? '').trim()}`);
  return [
    parts.method,
    parts.path,
    ...headerLines,
    parts.signedHeaders.join(';'),
    parts.bodySha256,
    parts.timestamp,
    parts.keyId,
    parts.system,
  ].join('\n');
}

/** The key a secret signs with for one system. */
export function signingKey(secret: string, system: string): Buffer {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${signingAlgorithm}\n${system}`, 'utf8').digest();
}

/** Signing keys derived lately, by secret and system (each request would otherwise derive its key again). */
const signingKeys = new Map<string, Buffer>();

/** The hex signature of a canonical request. */
export function signCanonicalRequest(secret: string, system: string, canonical: string): string {
  const id = `${system}\n${secret}`;
  let key = signingKeys.get(id);
  if (key === undefined) {
    key = signingKey(secret, system);
    if (signingKeys.size >= 1024) signingKeys.delete(signingKeys.keys().next().value!);
    signingKeys.set(id, key);
  }
  return createHmac('sha256', key).update(canonical, 'utf8').digest('hex');
}

/** The names a request signs: the required ones and every `x-factum-*` header it has. */
export function signedHeaderNames(headerNames: Iterable<string>): string[] {
  const names = new Set(requiredSignedHeaders);
  for (const name of headerNames) if (name.startsWith('x-factum-')) names.add(name);
  return [...names].sort();
}

export interface RequestToSign {
  readonly method: string;
  /** Path and query string exactly as sent, e.g. `url.pathname + url.search` of the URL fetched. */
  readonly path: string;
  /** Must include `host` (host:port as sent); names in any case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

function lowerCaseHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    if (key in lower) fail('request/malformed', `the request to sign has header ${key} twice (names differ only in case); expected it once`, { header: key });
    // A line break would let one header's value pose as another header's line.
    if (/[\r\n]/.test(value)) fail('request/malformed', `the request to sign has a line break in header ${key}; expected a single-line value`, { header: key });
    lower[key] = value;
  }
  return lower;
}

/**
 * The headers to add to a request so that a node accepts it as sent with `key`.
 *
 * @example
 * const body = encode(request);
 * const headers = { host: 'node:8182', 'content-type': 'application/msgpack' };
 * const signed = signRequest(key, 'prod', { method: 'POST', path: '/api/shop/transact', headers, body }, Date.now());
 * await fetch('http://node:8182/api/shop/transact', { method: 'POST', headers: { ...headers, ...signed }, body });
 */
export function signRequest(
  key: { readonly keyId: string; readonly secret: string },
  system: string,
  request: RequestToSign,
  nowMs: number,
): Record<string, string> {
  if (!Number.isSafeInteger(nowMs) || nowMs < 0) fail('request/malformed', `signing time ${nowMs} is invalid; expected ms since the epoch`, { nowMs });
  const headers = lowerCaseHeaders(request.headers);
  if (headers.host === undefined || headers.host.trim() === '') {
    fail('request/malformed', 'the request to sign has no host header; expected the host:port it is sent to', {});
  }
  const added = { [dateHeader]: String(nowMs), [contentHashHeader]: sha256Hex(request.body) };
  const all = { ...headers, ...added };
  const signedHeaders = signedHeaderNames(Object.keys(all));
  const canonical = canonicalRequest({
    method: request.method.toUpperCase(),
    path: request.path,
    headers: all,
    signedHeaders,
    bodySha256: added[contentHashHeader],
    timestamp: added[dateHeader],
    keyId: key.keyId,
    system,
  });
  const signature = signCanonicalRequest(key.secret, system, canonical);
  return {
    ...added,
    authorization: `${signingAlgorithm} KeyId=${key.keyId}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`,
  };
}
