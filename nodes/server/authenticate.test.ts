// Authentication of signed requests and authorization of keys: every refusal with its code and
// status, a request signed for one system refused by another, and a property test that no change
// of one byte of anything signed (and no replay after the window) is ever accepted.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AccessKey } from '../../client/remote/access-key.ts';
import { signRequest } from '../../client/remote/signing.ts';
import { isFactumError } from '../util/errors.ts';
import { authenticate, authenticateBody, authenticateHeaders, authorize, httpStatusOf, signatureWindowMsDefault, type RequestToAuthenticate } from './authenticate.ts';

const system = 'prod';
const nowMs = 1_750_000_000_000;
const admin: AccessKey = { keyId: '00112233445566aa', secret: 'A'.repeat(43), permission: 'admin', database: null };
const writer: AccessKey = { keyId: '00112233445566bb', secret: 'B'.repeat(42) + 'g', permission: 'read-write', database: 'shop' };
const reader: AccessKey = { keyId: '00112233445566cc', secret: 'C'.repeat(43), permission: 'read-only', database: 'shop' };
const keys = new Map([admin, writer, reader].map((key) => [key.keyId, key]));
const lookup = (keyId: string) => keys.get(keyId);

const body = new TextEncoder().encode('{"tx-data":[]}');

/** A request as the server sees it: the client's headers plus the signed ones, lower case. */
function signed(key: AccessKey = writer, signedAt = nowMs, forSystem = system, extra: Record<string, string> = {}): RequestToAuthenticate {
  const headers = { Host: 'node-1:8182', 'Content-Type': 'application/json', ...extra };
  const added = signRequest(key, forSystem, { method: 'post', path: '/api/shop/transact?timeout=5', headers, body }, signedAt);
  const lower = Object.fromEntries(Object.entries({ ...headers, ...added }).map(([name, value]) => [name.toLowerCase(), value]));
  return { method: 'POST', path: '/api/shop/transact?timeout=5', headers: lower, body };
}

function refusal(request: RequestToAuthenticate, at = nowMs, bySystem = system): unknown {
  try {
    authenticate(lookup, bySystem, request, at);
  } catch (error) {
    return error;
  }
  return undefined;
}

const withHeader = (request: RequestToAuthenticate, name: string, value: string | undefined): RequestToAuthenticate => {
  const headers = { ...request.headers, [name]: value };
  if (value === undefined) delete headers[name];
  return { ...request, headers };
};

const authorizationOf = (request: RequestToAuthenticate) => request.headers.authorization as string;

describe('authenticate', () => {
  it('accepts a signed request and answers its key', () => {
    expect(authenticate(lookup, system, signed(), nowMs)).toEqual(writer);
    expect(authenticate(lookup, system, signed(admin, nowMs - 60_000, system, { 'X-Factum-Idempotency-Key': 'k-1' }), nowMs)).toEqual(admin);
  });

  it('accepts a request signed up to the window before or after its clock, and not one ms more', () => {
    expect(authenticate(lookup, system, signed(writer, nowMs - signatureWindowMsDefault), nowMs)).toEqual(writer);
    expect(authenticate(lookup, system, signed(writer, nowMs + signatureWindowMsDefault), nowMs)).toEqual(writer);
    expect(refusal(signed(writer, nowMs - signatureWindowMsDefault - 1))).toMatchObject({ code: 'auth/expired' });
    expect(refusal(signed(writer, nowMs + signatureWindowMsDefault + 1))).toMatchObject({ code: 'auth/expired' });
    expect(authenticate(lookup, system, signed(writer, nowMs - 10_000), nowMs, 20_000)).toEqual(writer);
    expect(() => authenticate(lookup, system, signed(writer, nowMs - 10_000), nowMs, 5_000)).toThrow(/within ±5000 ms/);
  });

  const refusals: [string, () => RequestToAuthenticate, string][] = [
    ['no authorization header', () => withHeader(signed(), 'authorization', undefined), 'auth/missing'],
    ['an empty authorization header', () => withHeader(signed(), 'authorization', ' '), 'auth/missing'],
    ['another scheme', () => withHeader(signed(), 'authorization', authorizationOf(signed()).replace('FACTUM-HMAC-SHA256', 'AWS4-HMAC-SHA256')), 'auth/malformed'],
    ['no signature', () => withHeader(signed(), 'authorization', authorizationOf(signed()).replace(/, Signature=.*/, '')), 'auth/malformed'],
    ['no key id', () => withHeader(signed(), 'authorization', authorizationOf(signed()).replace(/KeyId=[^,]*/, 'KeyId=')), 'auth/malformed'],
    ['a signature in upper-case hex', () => withHeader(signed(), 'authorization', authorizationOf(signed()).replace(/Signature=(.*)/, (_, hex: string) => `Signature=${hex.toUpperCase()}`)), 'auth/malformed'],
    ['a short signature', () => withHeader(signed(), 'authorization', authorizationOf(signed()).slice(0, -2)), 'auth/malformed'],
    ['a signature with a non-hex digit', () => withHeader(signed(), 'authorization', `${authorizationOf(signed()).slice(0, -1)}g`), 'auth/malformed'],
    ['host not signed', () => withHeader(signed(), 'authorization', authorizationOf(signed()).replace('host;', '')), 'auth/malformed'],
    ['content-type not signed', () => withHeader(signed(), 'authorization', authorizationOf(signed()).replace('content-type;', '')), 'auth/malformed'],
    ['signed headers out of order', () => withHeader(signed(), 'authorization', authorizationOf(signed()).replace('content-type;host', 'host;content-type')), 'auth/malformed'],
    ['signed headers repeated', () => withHeader(signed(), 'authorization', authorizationOf(signed()).replace('host;', 'host;host;')), 'auth/malformed'],
    ['an x-factum header added after signing', () => withHeader(signed(), 'x-factum-basis-t', '42'), 'auth/malformed'],
    ['no content hash', () => withHeader(signed(), 'x-factum-content-sha256', undefined), 'auth/malformed'],
    ['a content hash in upper-case hex', () => withHeader(signed(), 'x-factum-content-sha256', (signed().headers['x-factum-content-sha256'] as string).toUpperCase()), 'auth/malformed'],
    ['no date', () => withHeader(signed(), 'x-factum-date', undefined), 'auth/expired'],
    ['a date that is not a number', () => withHeader(signed(), 'x-factum-date', 'yesterday'), 'auth/expired'],
    ['a date in seconds', () => withHeader(signed(), 'x-factum-date', String(nowMs / 1000)), 'auth/expired'],
    ['a replay six minutes later', () => signed(writer, nowMs - 6 * 60_000), 'auth/expired'],
    ['an unknown key', () => signed({ ...writer, keyId: 'ffffffffffffffff' }), 'auth/unknown-key'],
    ['a changed body', () => ({ ...signed(), body: new TextEncoder().encode('{"tx-data":[1]}') }), 'auth/bad-signature'],
    ['a changed path', () => ({ ...signed(), path: '/api/other/transact?timeout=5' }), 'auth/bad-signature'],
    ['a changed query', () => ({ ...signed(), path: '/api/shop/transact?timeout=6' }), 'auth/bad-signature'],
    ['a changed method', () => ({ ...signed(), method: 'PUT' }), 'auth/bad-signature'],
    ['a changed host', () => withHeader(signed(), 'host', 'node-2:8182'), 'auth/bad-signature'],
    ['a changed date within the window', () => withHeader(signed(), 'x-factum-date', String(nowMs + 1)), 'auth/bad-signature'],
    ['a wrong secret', () => signed({ ...writer, secret: 'D'.repeat(43) }), 'auth/bad-signature'],
    ['another key id on the same signature', () => withHeader(signed(), 'authorization', authorizationOf(signed()).replace(writer.keyId, reader.keyId)), 'auth/bad-signature'],
    ['a request signed for another system', () => signed(writer, nowMs, 'staging'), 'auth/bad-signature'],
  ];

  it.each(refusals)('refuses %s with %s', (_, make, code) => {
    const error = refusal(make());
    expect(error).toMatchObject({ code, category: 'forbidden' });
    expect(httpStatusOf((error as { code: never }).code)).toBe(401);
    // No refusal ever carries a secret.
    const shown = JSON.stringify({ message: (error as Error).message, data: (error as { data: unknown }).data });
    for (const key of keys.values()) expect(shown).not.toContain(key.secret);
  });

  it('refuses a request signed for system A on system B, and accepts it on A', () => {
    const request = signed(writer, nowMs, 'system-a');
    expect(authenticate(lookup, 'system-a', request, nowMs)).toEqual(writer);
    expect(refusal(request, nowMs, 'system-b')).toMatchObject({ code: 'auth/bad-signature' });
  });

  it('accepts a change to a header that is not signed', () => {
    expect(authenticate(lookup, system, withHeader(signed(), 'user-agent', 'curl/8'), nowMs)).toEqual(writer);
  });

  it('reads repeated headers as node:http gives them, joined', () => {
    const request = signed(writer, nowMs, system, { 'x-factum-tag': 'a, b' });
    expect(authenticate(lookup, system, withHeader(request, 'x-factum-tag', ['a', 'b'] as never), nowMs)).toEqual(writer);
  });
});

/** Any one byte changed to another printable one. */
function changeCharacter(text: string, index: number, replacement: number): string {
  const at = index % text.length;
  const old = text.charCodeAt(at);
  const code = 0x20 + ((old - 0x20 + 1 + (replacement % 94)) % 95);
  return text.slice(0, at) + String.fromCharCode(code) + text.slice(at + 1);
}

const printable = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-_.~%/=&'.split('')), minLength: 1, maxLength: 40 });
const requestArbitrary = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
  path: printable.map((text) => `/${text}`),
  host: printable,
  contentType: fc.constantFrom('application/json', 'application/msgpack', 'text/plain; charset=utf-8'),
  idempotencyKey: fc.option(printable, { nil: undefined }),
  basisT: fc.option(fc.nat().map(String), { nil: undefined }),
  body: fc.uint8Array({ minLength: 1, maxLength: 64 }),
  signedAt: fc.integer({ min: nowMs - signatureWindowMsDefault, max: nowMs + signatureWindowMsDefault }),
});
const partArbitrary = fc.constantFrom(
  'method',
  'path',
  'host',
  'content-type',
  'x-factum-idempotency-key',
  'x-factum-basis-t',
  'x-factum-date',
  'x-factum-content-sha256',
  'body',
  'key id',
  'signature',
  'replay',
);

describe('authenticate, property: nothing signed can change', () => {
  it('accepts none of thousands of signed requests with one byte changed, or replayed after the window', () => {
    let changed = 0;
    fc.assert(
      fc.property(requestArbitrary, partArbitrary, fc.nat(), fc.nat(), fc.nat({ max: 10 * 24 * 3600_000 }), (generated, part, index, replacement, lateMs) => {
        const headers: Record<string, string> = { host: generated.host, 'content-type': generated.contentType, 'user-agent': 'factum-test' };
        if (generated.idempotencyKey !== undefined) headers['x-factum-idempotency-key'] = generated.idempotencyKey;
        if (generated.basisT !== undefined) headers['x-factum-basis-t'] = generated.basisT;
        const key = [admin, writer, reader][index % 3];
        Object.assign(headers, signRequest(key, system, { method: generated.method, path: generated.path, headers, body: generated.body }, generated.signedAt));
        const request = { method: generated.method, path: generated.path, headers, body: generated.body };
        expect(authenticate(lookup, system, request, nowMs)).toEqual(key);

        let at = nowMs;
        const mutated: { method: string; path: string; headers: Record<string, string>; body: Uint8Array } = { ...request, headers: { ...headers } };
        const authorization = headers.authorization;
        if (part === 'method') mutated.method = changeCharacter(request.method, index, replacement);
        else if (part === 'path') mutated.path = changeCharacter(request.path, index, replacement);
        else if (part === 'body') {
          const bytes = Uint8Array.from(request.body);
          bytes[index % bytes.length] ^= 1 + (replacement % 255);
          mutated.body = bytes;
        } else if (part === 'key id') {
          const start = authorization.indexOf('KeyId=') + 6;
          mutated.headers.authorization = authorization.slice(0, start) + changeCharacter(key.keyId, index, replacement) + authorization.slice(start + key.keyId.length);
        } else if (part === 'signature') {
          const start = authorization.indexOf('Signature=') + 10;
          mutated.headers.authorization = authorization.slice(0, start) + changeCharacter(authorization.slice(start), index, replacement);
        } else if (part === 'replay') at = generated.signedAt + signatureWindowMsDefault + 1 + lateMs;
        else if (headers[part] === undefined) return; // this request has no such header
        else mutated.headers[part] = changeCharacter(headers[part], index, replacement);

        changed += 1;
        let error: unknown;
        try {
          authenticate(lookup, system, mutated, at);
        } catch (caught) {
          error = caught;
        }
        expect(isFactumError(error), `${part} changed, accepted`).toBe(true);
        expect(httpStatusOf((error as { code: never }).code)).toBe(401);
      }),
      { numRuns: 5000, seed: 16 },
    );
    expect(changed).toBeGreaterThan(4000);
  });
});

describe('authorize', () => {
  const cases: [AccessKey, 'admin' | 'write' | 'read', string | undefined, boolean][] = [
    [admin, 'admin', undefined, true],
    [admin, 'write', 'shop', true],
    [admin, 'read', 'other', true],
    [admin, 'read', undefined, true],
    [writer, 'read', 'shop', true],
    [writer, 'write', 'shop', true],
    [writer, 'write', 'other', false],
    [writer, 'read', 'other', false],
    [writer, 'read', undefined, false],
    [writer, 'admin', undefined, false],
    [writer, 'admin', 'shop', false],
    [reader, 'read', 'shop', true],
    [reader, 'write', 'shop', false],
    [reader, 'read', 'shop2', false],
    [reader, 'admin', undefined, false],
  ];

  it.each(cases)('%o may %s %s: %s', (key, kind, database, allowed) => {
    const need = { kind, ...(database === undefined ? {} : { database }) };
    if (allowed) {
      expect(() => authorize(key, need)).not.toThrow();
      return;
    }
    let error: unknown;
    try {
      authorize(key, need);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'auth/not-permitted', category: 'forbidden', data: { keyId: key.keyId, permission: key.permission } });
    expect(httpStatusOf('auth/not-permitted')).toBe(403);
    expect((error as Error).message).toContain(key.keyId);
    expect((error as Error).message).toContain(key.permission);
    expect((error as Error).message).toContain(kind);
    expect(JSON.stringify({ message: (error as Error).message, data: (error as { data: unknown }).data })).not.toContain(key.secret);
  });

  it('refuses a read-only key a write, naming the key, its permission and the need', () => {
    expect(() => authorize(reader, { kind: 'write', database: 'shop' })).toThrow(
      `access key ${reader.keyId} (read-only of database shop) may not write database shop`,
    );
  });
});

describe('httpStatusOf', () => {
  it('answers 401 for unauthenticated, 403 for not permitted, 400 for a bad key, nothing for other codes', () => {
    for (const code of ['auth/missing', 'auth/malformed', 'auth/unknown-key', 'auth/expired', 'auth/bad-signature'] as const) expect(httpStatusOf(code)).toBe(401);
    expect(httpStatusOf('auth/not-permitted')).toBe(403);
    expect(httpStatusOf('auth/key-not-found')).toBe(403);
    expect(httpStatusOf('auth/invalid-key')).toBe(400);
    expect(httpStatusOf('transact/malformed')).toBeUndefined();
  });
});

describe('authentication in two phases (headers before the body is read, then the body)', () => {
  it('refuses a bad signature from the headers alone, before any body is read', () => {
    const request = signed();
    const signature = String(request.headers.authorization);
    const tampered = { ...request.headers, authorization: signature.replace(/Signature=([0-9a-f])/, (_, c: string) => `Signature=${c === '0' ? '1' : '0'}`) };
    const { body: _body, ...withoutBody } = { ...request, headers: tampered };
    void _body;
    expect(() => authenticateHeaders(lookup, system, withoutBody, nowMs)).toThrow(expect.objectContaining({ code: 'auth/bad-signature' }));
  });

  it('accepts the headers, then refuses a body other than the one signed', () => {
    const request = signed();
    const { body: _body, ...withoutBody } = request;
    void _body;
    const checked = authenticateHeaders(lookup, system, withoutBody, nowMs);
    expect(checked.key).toBe(writer);
    expect(checked.signature).toMatch(/^[0-9a-f]{64}$/);
    expect(authenticateBody(checked, body)).toBe(writer);
    const changed = new Uint8Array(body);
    changed[0] = changed[0]! ^ 1;
    expect(() => authenticateBody(checked, changed)).toThrow(expect.objectContaining({ code: 'auth/bad-signature' }));
  });
});
