import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FactumError } from '../util/errors.ts';
import { createLogger, redacted, redactSecrets } from './log.ts';

const base = { system: 'demo', group: 'primary', role: 'primary', node: 'i-0123456789abcdef0' };
const secret = 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I';

/** A logger writing into an array of parsed lines (and the raw text, to search for secrets). */
function capture(level?: string): { log: ReturnType<typeof createLogger>; lines: () => Record<string, any>[]; text: () => string } {
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  const log = createLogger({ base, destination, ...(level === undefined ? {} : { level }) });
  return { log, text: () => text, lines: () => text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line)) };
}

describe('createLogger', () => {
  it('writes one JSON line per event with the base fields, the level name and the event', () => {
    const { log, lines } = capture();
    log.info({ event: 'request', operation: 'q', durationMs: 3 }, 'query served');
    log.warn('no event named');
    const [request, plain] = lines();
    expect(request).toMatchObject({ level: 'info', ...base, event: 'request', operation: 'q', durationMs: 3, msg: 'query served' });
    expect(Date.parse(request!.time)).not.toBeNaN();
    expect(plain).toMatchObject({ level: 'warn', event: 'log', msg: 'no event named' });
    expect(lines()).toHaveLength(2);
  });

  it('honours the level', () => {
    const { log, lines } = capture('warn');
    log.info({ event: 'request' }, 'dropped');
    log.error({ event: 'error' }, 'kept');
    expect(lines().map((line) => line.msg)).toEqual(['kept']);
  });

  it('redacts secrets at any depth: headers, error data, bindings, key material', () => {
    const { log, lines, text } = capture();
    const headers = {
      authorization: `FACTUM-HMAC-SHA256 keyId=k1, signature=${secret}`,
      Authorization: `Bearer ${secret}`,
      'x-factum-signature': secret,
      'X-Factum-Request-Signature': secret,
      'x-factum-basis-t': '42',
      'content-type': 'application/json',
    };
    log.info({ event: 'request', request: { method: 'POST', headers } }, 'request');
    const key = { keyId: 'k1', secret, permission: 'read-only', database: 'shop' };
    const error = new FactumError('auth/bad-signature', 'the signature does not match', { key, nested: [{ deeper: { clientSecret: secret } }] });
    log.error({ event: 'error', err: error }, 'refused');
    log
      .child({ aws: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: secret } })
      .child({ request: { headers: { authorization: secret } } })
      .info({ event: 'node/started' }, 'up');
    log.info({ event: 'access-key/created', plaintext: Buffer.from(secret), dataKey: new Uint8Array([1, 2, 3]), note: `Basic ${secret}` }, 'key');

    expect(text()).not.toContain(secret);
    expect(text()).not.toContain(Buffer.from(secret).toString('base64'));
    const [request, refused, started, created] = lines();
    expect(request!.request.headers).toEqual({
      authorization: redacted,
      Authorization: redacted,
      'x-factum-signature': redacted,
      'X-Factum-Request-Signature': redacted,
      'x-factum-basis-t': '42',
      'content-type': 'application/json',
    });
    expect(refused!.err).toMatchObject({ type: 'FactumError', code: 'auth/bad-signature', category: 'forbidden', message: 'the signature does not match' });
    expect(refused!.err.data.key).toEqual({ keyId: 'k1', secret: redacted, permission: 'read-only', database: 'shop' });
    expect(refused!.err.data.nested).toEqual([{ deeper: { clientSecret: redacted } }]);
    expect(refused!.err.stack).toContain('log.test.ts');
    expect(started).toMatchObject({ aws: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: redacted }, request: { headers: { authorization: redacted } } });
    expect(created).toMatchObject({ plaintext: redacted, dataKey: redacted, note: redacted });
  });

  it('logs an error given alone, its cause included, without secrets', () => {
    const { log, lines, text } = capture();
    const cause = Object.assign(new Error('KMS said no'), { signature: secret });
    log.error(new FactumError('secret/decrypt-failed', 'the secret could not be opened', { context: { system: 'demo' } }, { cause }));
    expect(text()).not.toContain(secret);
    const [line] = lines();
    expect(line).toMatchObject({ event: 'log', level: 'error', msg: 'the secret could not be opened' });
    expect(line!.err.cause).toMatchObject({ type: 'Error', message: 'KMS said no', signature: redacted });
  });
});

describe('redactSecrets', () => {
  it('survives cycles, deep nesting, maps and bigints', () => {
    const cyclic: Record<string, unknown> = { name: 'a' };
    cyclic.self = cyclic;
    let deep: Record<string, unknown> = { password: secret };
    for (let level = 0; level < 20; level++) deep = { next: deep };
    const value = redactSecrets({ cyclic, deep, map: new Map([['token', secret]]), big: 2n ** 64n }) as Record<string, any>;
    expect(value.cyclic).toEqual({ name: 'a', self: '[circular]' });
    expect(JSON.stringify(value)).not.toContain(secret);
    expect(value.map).toEqual({ token: redacted });
    expect(value.big).toBe('18446744073709551616');
  });
});
