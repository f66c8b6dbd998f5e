// Signing requests: the canonical request's exact format, a pinned signature, the headers added,
// and the requests a client refuses to sign.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { canonicalRequest, sha256Hex, signCanonicalRequest, signedHeaderNames, signingKey, signRequest } from './signing.ts';

const key = { keyId: '0123456789abcdef', secret: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I' };
const body = new TextEncoder().encode('[:db/add "x" :item/sku "A-1"]');
const nowMs = 1_750_000_000_123;
const request = {
  method: 'POST',
  path: '/api/shop/transact?timeout=5',
  headers: { Host: 'node-1:8182', 'Content-Type': 'application/edn', 'X-Factum-Idempotency-Key': ' k-1 ', 'User-Agent': 'factum' },
  body,
};

describe('signRequest', () => {
  it('adds the date, the body hash and an authorization naming the key, the signed headers and the signature', () => {
    const added = signRequest(key, 'prod', request, nowMs);
    expect(Object.keys(added).sort()).toEqual(['authorization', 'x-factum-content-sha256', 'x-factum-date']);
    expect(added['x-factum-date']).toBe('1750000000123');
    expect(added['x-factum-content-sha256']).toBe(sha256Hex(body));
    expect(added.authorization).toMatch(
      /^FACTUM-HMAC-SHA256 KeyId=0123456789abcdef, SignedHeaders=content-type;host;x-factum-content-sha256;x-factum-date;x-factum-idempotency-key, Signature=[0-9a-f]{64}$/,
    );
  });

  it('signs this canonical request, exactly', () => {
    const expected = [
      'POST',
      '/api/shop/transact?timeout=5',
      'content-type:application/edn',
      'host:node-1:8182',
      `x-factum-content-sha256:${sha256Hex(body)}`,
      'x-factum-date:1750000000123',
      'x-factum-idempotency-key:k-1',
      'content-type;host;x-factum-content-sha256;x-factum-date;x-factum-idempotency-key',
      sha256Hex(body),
      '1750000000123',
      '0123456789abcdef',
      'prod',
    ].join('\n');
    const headers = { 'content-type': 'application/edn', host: 'node-1:8182', 'x-factum-content-sha256': sha256Hex(body), 'x-factum-date': '1750000000123', 'x-factum-idempotency-key': ' k-1 ' };
    const canonical = canonicalRequest({
      method: 'POST',
      path: request.path,
      headers,
      signedHeaders: signedHeaderNames(Object.keys(headers)),
      bodySha256: sha256Hex(body),
      timestamp: '1750000000123',
      keyId: key.keyId,
      system: 'prod',
    });
    expect(canonical).toBe(expected);
    const signature = signCanonicalRequest(key.secret, 'prod', expected);
    expect(signRequest(key, 'prod', request, nowMs).authorization.endsWith(`Signature=${signature}`)).toBe(true);
    // Pinned, so that a change of the format or the key derivation is noticed: clients and nodes
    // of different versions must agree.
    expect(signature).toBe(PINNED_SIGNATURE);
  });

  it('derives a different signing key per system and per secret', () => {
    expect(signingKey(key.secret, 'prod').equals(signingKey(key.secret, 'staging'))).toBe(false);
    expect(signingKey(key.secret, 'prod').equals(signingKey(`${key.secret.slice(0, -1)}J`, 'prod'))).toBe(false);
    expect(signingKey(key.secret, 'prod')).toHaveLength(32);
  });

  it('signs the method in upper case, as fetch and node:http send it', () => {
    expect(signRequest(key, 'prod', { ...request, method: 'post' }, nowMs)).toEqual(signRequest(key, 'prod', request, nowMs));
  });

  it('signs an absent content-type as empty', () => {
    const { 'Content-Type': _, ...headers } = request.headers;
    const added = signRequest(key, 'prod', { ...request, method: 'GET', headers }, nowMs);
    expect(added.authorization).toContain('SignedHeaders=content-type;host;');
  });

  it('refuses to sign without a host, with a header twice, or with a line break in a value', () => {
    const { Host: _, ...noHost } = request.headers;
    expect(() => signRequest(key, 'prod', { ...request, headers: noHost }, nowMs)).toThrow(expect.objectContaining({ code: 'request/malformed' }));
    expect(() => signRequest(key, 'prod', { ...request, headers: { ...request.headers, host: 'other' } }, nowMs)).toThrow(
      expect.objectContaining({ code: 'request/malformed' }),
    );
    expect(() => signRequest(key, 'prod', { ...request, headers: { ...request.headers, 'x-factum-basis-t': '1\nhost:evil' } }, nowMs)).toThrow(
      expect.objectContaining({ code: 'request/malformed' }),
    );
    expect(() => signRequest(key, 'prod', request, Number.NaN)).toThrow(expect.objectContaining({ code: 'request/malformed' }));
  });

  it('imports only node:crypto and the error codes, so any client can load it', async () => {
    const source = await readFile(new URL('./signing.ts', import.meta.url), 'utf8');
    const imports = [...source.matchAll(/^import .* from '([^']+)';$/gm)].map((match) => match[1]);
    expect(imports).toEqual(['node:crypto', '../../nodes/util/errors.ts']);
  });
});

// Computed independently (Python's hmac) from the format in signing.ts's header.
const PINNED_SIGNATURE = '2011dc312715953f5fdcc0283ca73d2b01afc2c9372c13d492c79846c9edec30';
