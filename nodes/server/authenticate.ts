//! Authentication and authorization of requests to a node (DESIGN.md invariant 5: every request is
//! authenticated). `authenticate` checks a request signed by client/remote/signing.ts and answers
//! the access key that signed it; `authorize` checks that key may do what the request needs.
//!
//! Checks, in order, each refusal with its code (HTTP status from `httpStatusOf`):
//!
//!   no authorization header                                       auth/missing        401
//!   header not `FACTUM-HMAC-SHA256 KeyId=.., SignedHeaders=..,     auth/malformed      401
//!   Signature=<64 lower-case hex>`; signed headers not sorted,
//!   unique, lower-case, or missing a required or present
//!   x-factum-* header; content hash not 64 lower-case hex
//!   timestamp not decimal ms, or more than windowMs from now      auth/expired        401
//!   key id unknown                                                auth/unknown-key    401
//!   signature differs (it covers the body hash claimed)           auth/bad-signature  401
//!   body differs from the claimed hash                            auth/bad-signature  401
//!   the key may not do what is needed                             auth/not-permitted  403
//!
//! Only the body's check needs the body: a node makes the others (`authenticateHeaders`) before it
//! reads the body, so that a client that cannot sign makes it buffer nothing, then checks the body
//! against the signed hash (`authenticateBody`).
//!
//! Hex is accepted in lower case only, so that each signature has exactly one spelling. Hashes and
//! signatures are compared in constant time. A signed request may be replayed within the window;
//! the transactor's idempotency keys (signed x-factum-* headers) make a replayed transaction a no-op.

import { timingSafeEqual } from 'node:crypto';
import type { AccessKey } from '../../client/remote/access-key.ts';
import {
  canonicalRequest,
  contentHashHeader,
  dateHeader,
  requiredSignedHeaders,
  sha256Hex,
  signCanonicalRequest,
  signingAlgorithm,
} from '../../client/remote/signing.ts';
import { type Code, fail } from '../util/errors.ts';

export const signatureWindowMsDefault = 5 * 60 * 1000;

/** A request as node:http gives it: header names in lower case, repeated headers as arrays. */
export interface RequestToAuthenticate {
  readonly method: string;
  /** Path and query string as received (`request.url`). */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body: Uint8Array;
}

const authorizationPattern = new RegExp(
  `^${signingAlgorithm} KeyId=([A-Za-z0-9_-]{1,64}), SignedHeaders=([a-z0-9;-]{1,1024}), Signature=([0-9a-f]{64})$`,
);
const hexSha256Pattern = /^[0-9a-f]{64}$/;
const timestampPattern = /^[0-9]{1,16}$/;

interface Authorization {
  readonly keyId: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

function headerValue(headers: RequestToAuthenticate['headers'], name: string): string | undefined {
  const value = headers[name];
  // node:http joins most repeated headers with ", " itself; the rest arrive as arrays.
  return Array.isArray(value) ? value.join(', ') : (value as string | undefined);
}

function malformed(problem: string, data: Record<string, unknown> = {}): never {
  fail('auth/malformed', `the request's authorization is malformed: ${problem}`, data);
}

function parseAuthorization(header: string): Authorization {
  const match = authorizationPattern.exec(header.trim());
  if (match === null) {
    // The header is not quoted: it holds a signature, which is worth nothing without the secret,
    // but a client that put a secret there by mistake should not see it in logs.
    malformed(`expected "${signingAlgorithm} KeyId=<id>, SignedHeaders=<names joined by ;>, Signature=<64 lower-case hex digits>"`);
  }
  return { keyId: match[1], signedHeaders: match[2].split(';'), signature: match[3] };
}

function checkSignedHeaders(signedHeaders: readonly string[], headers: RequestToAuthenticate['headers'], keyId: string): void {
  for (let index = 1; index < signedHeaders.length; index++) {
    if (!(signedHeaders[index - 1] < signedHeaders[index])) {
      malformed(`SignedHeaders ${signedHeaders.join(';')} are not sorted and unique; expected names in ascending order`, { keyId });
    }
  }
  if (signedHeaders.some((name) => name === '')) malformed('SignedHeaders has an empty name', { keyId });
  // Lists of a few names: includes() beats building a set on every request.
  let unsigned: string[] | null = null;
  for (const name of requiredSignedHeaders) if (!signedHeaders.includes(name)) (unsigned ??= []).push(name);
  for (const name in headers) if (name.startsWith('x-factum-') && !signedHeaders.includes(name)) (unsigned ??= []).push(name);
  if (unsigned !== null) {
    malformed(`header ${unsigned.join(', ')} is not signed; expected SignedHeaders to include ${requiredSignedHeaders.join(', ')} and every x-factum-* header`, {
      keyId,
      unsigned,
    });
  }
}

function sameHex(left: string, right: string): boolean {
  const leftBytes = Buffer.from(left, 'latin1');
  const rightBytes = Buffer.from(right, 'latin1');
  return leftBytes.length === rightBytes.length && timingSafeEqual(leftBytes, rightBytes);
}

function checkTimestamp(timestamp: string | undefined, nowMs: number, windowMs: number, keyId: string): void {
  const time = timestamp !== undefined && timestampPattern.test(timestamp) ? Number(timestamp) : Number.NaN;
  if (Number.isNaN(time)) {
    fail('auth/expired', `the request's ${dateHeader} ${JSON.stringify(timestamp ?? null)} is not a time; expected ms since the epoch`, {
      keyId,
      timestamp: timestamp ?? null,
    });
  }
  if (Math.abs(nowMs - time) > windowMs) {
    fail('auth/expired', `the request was signed at ${time}, ${nowMs - time} ms from this node's clock ${nowMs}; expected within ±${windowMs} ms (check the client's clock)`, {
      keyId,
      timestamp: time,
      nowMs,
      windowMs,
    });
  }
}

/** A request whose headers passed every check but its body's hash: what `authenticateBody` needs. */
export interface SignedRequest {
  /** The access key whose signature the request carries (checked over its headers). */
  readonly key: AccessKey;
  /** The signature, 64 lower-case hex digits: unique to the request (a transaction's default idempotency key). */
  readonly signature: string;
  /** The body's hash the signature covers. */
  readonly bodySha256: string;
}

/**
 * Checks everything of a request but its body: the header's form, the signed headers, the time,
 * the key and the signature, which covers the body's claimed hash. A node calls it before it
 * reads the body, so that a client that cannot sign makes the node buffer nothing; then
 * `authenticateBody` checks the body against the hash.
 */
export function authenticateHeaders(
  lookup: (keyId: string) => AccessKey | undefined,
  system: string,
  request: Omit<RequestToAuthenticate, 'body'>,
  nowMs: number,
  windowMs: number = signatureWindowMsDefault,
): SignedRequest {
  const header = headerValue(request.headers, 'authorization');
  if (header === undefined || header.trim() === '') {
    fail('auth/missing', `the request has no authorization header; expected one signed with an access key (${signingAlgorithm})`, {});
  }
  const authorization = parseAuthorization(header);
  const { keyId } = authorization;
  checkSignedHeaders(authorization.signedHeaders, request.headers, keyId);
  const claimedHash = headerValue(request.headers, contentHashHeader) ?? '';
  if (!hexSha256Pattern.test(claimedHash)) malformed(`${contentHashHeader} is not 64 lower-case hex digits`, { keyId });
  const timestamp = headerValue(request.headers, dateHeader);
  checkTimestamp(timestamp, nowMs, windowMs, keyId);
  const key = lookup(keyId);
  if (key === undefined) {
    fail('auth/unknown-key', `access key ${keyId} is not a key of system ${system}; expected a key fetched from this system`, { keyId, system });
  }
  const headers: Record<string, string> = {};
  for (const name of authorization.signedHeaders) headers[name] = headerValue(request.headers, name) ?? '';
  const canonical = canonicalRequest({
    method: request.method,
    path: request.path,
    headers,
    signedHeaders: authorization.signedHeaders,
    bodySha256: claimedHash,
    timestamp: timestamp as string,
    keyId,
    system,
  });
  // Both hex, lower case (the signature by the header's pattern): equal bytes are equal text.
  if (!sameHex(signCanonicalRequest(key.secret, system, canonical), authorization.signature)) {
    fail('auth/bad-signature', `the request's signature does not match access key ${keyId} for system ${system}; expected a request signed with that key, unchanged on the way`, {
      keyId,
      system,
    });
  }
  return { key, signature: authorization.signature, bodySha256: claimedHash };
}

/** The key of a request `authenticateHeaders` accepted, once its body matches the signed hash; throws `auth/bad-signature` otherwise. */
export function authenticateBody(signed: SignedRequest, body: Uint8Array): AccessKey {
  if (!sameHex(sha256Hex(body), signed.bodySha256)) {
    fail('auth/bad-signature', `the request's body does not match its ${contentHashHeader}; expected the body that was signed`, { keyId: signed.key.keyId });
  }
  return signed.key;
}

/**
 * The access key that signed `request` for `system`; throws an `auth/*` error otherwise.
 *
 * @example
 * const key = authenticate((id) => keys.get(id), 'prod', { method, path: req.url, headers: req.headers, body }, Date.now());
 * authorize(key, { kind: 'write', database: 'shop' });
 */
export function authenticate(
  lookup: (keyId: string) => AccessKey | undefined,
  system: string,
  request: RequestToAuthenticate,
  nowMs: number,
  windowMs: number = signatureWindowMsDefault,
): AccessKey {
  return authenticateBody(authenticateHeaders(lookup, system, request, nowMs, windowMs), request.body);
}

/** What a request needs: `read` and `write` of one database, or `admin` (create and delete databases, keys). */
export interface Need {
  readonly kind: 'admin' | 'write' | 'read';
  readonly database?: string;
}

function permits(key: AccessKey, need: Need): boolean {
  if (key.permission === 'admin') return true;
  if (key.permission === 'ions') return need.kind !== 'admin';
  if (need.kind === 'admin' || need.database === undefined || need.database !== key.database) return false;
  return need.kind === 'read' || key.permission === 'read-write';
}

/** Throws `auth/not-permitted` unless `key` may do what `need` says. */
export function authorize(key: AccessKey, need: Need): void {
  if (permits(key, need)) return;
  const what = need.database === undefined ? need.kind : `${need.kind} database ${need.database}`;
  const held = key.database === null ? key.permission : `${key.permission} of database ${key.database}`;
  fail('auth/not-permitted', `access key ${key.keyId} (${held}) may not ${what}; expected a key that permits it`, {
    keyId: key.keyId,
    permission: key.permission,
    database: key.database,
    need: { kind: need.kind, database: need.database ?? null },
  });
}

const authStatus = {
  'auth/missing': 401,
  'auth/malformed': 401,
  'auth/unknown-key': 401,
  'auth/expired': 401,
  'auth/bad-signature': 401,
  'auth/not-permitted': 403,
  'auth/key-not-found': 403,
  'auth/invalid-key': 400,
} as const satisfies Partial<Record<Code, number>>;

/** The HTTP status of an `auth/*` code; undefined for other codes (the server maps those itself). */
export function httpStatusOf(code: Code): number | undefined {
  return (authStatus as Partial<Record<Code, number>>)[code];
}
