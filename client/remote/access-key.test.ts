// Access keys on the client: checking a key, reading a key file, the folders and encryption
// contexts shared with the stores, and that the AWS SDK is loaded only by fetchAccessKey.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkDatabaseName } from '../../nodes/transactor/system.ts';
import {
  accessKeyContext,
  accessKeyFolder,
  checkAccessKey,
  checkAccessPrefix,
  checkKeyDatabase,
  fetchAccessKey,
  openedKey,
  readAccessKeyFile,
  type AccessKey,
} from './access-key.ts';

const secret = 'q'.repeat(40) + 'xyz';
const key: AccessKey = { keyId: '0123456789abcdef', secret, permission: 'read-only', database: 'shop' };

function errorOf(work: () => unknown): Record<string, unknown> {
  try {
    work();
  } catch (error) {
    return error as Record<string, unknown>;
  }
  throw new Error('expected a refusal');
}

const shown = (error: Record<string, unknown>) => JSON.stringify({ message: error.message, data: error.data });

describe('checkAccessKey', () => {
  it('accepts a well-formed key and answers only its four fields', () => {
    expect(checkAccessKey({ ...key, extra: 1 }, 'test')).toEqual(key);
    expect(checkAccessKey({ ...key, permission: 'admin', database: null }, 'test')).toEqual({ ...key, permission: 'admin', database: null });
  });

  const bad: [string, unknown][] = [
    ['not an object', 'key'],
    ['an array', [key]],
    ['no key id', { ...key, keyId: undefined }],
    ['a key id with a slash', { ...key, keyId: '../admin' }],
    ['a short secret', { ...key, secret: secret.slice(1) }],
    ['a secret with padding', { ...key, secret: `${secret.slice(1)}=` }],
    ['an unknown permission', { ...key, permission: 'owner' }],
    ['an admin key of a database', { ...key, permission: 'admin' }],
    ['a database key of no database', { ...key, database: null }],
    ['an invalid database', { ...key, database: '.shop' }],
  ];

  it.each(bad)('refuses %s with auth/invalid-key, never showing the secret', (_, value) => {
    const error = errorOf(() => checkAccessKey(value, 'test'));
    expect(error).toMatchObject({ code: 'auth/invalid-key', category: 'incorrect' });
    expect(shown(error)).not.toContain(secret.slice(1));
  });

  it('agrees with checkDatabaseName on which database names are valid', () => {
    const name = fc.string({ unit: fc.constantFrom(...'aZ09._-/ é'.split('')), maxLength: 70 });
    fc.assert(
      fc.property(fc.oneof(name, fc.constant('x'.repeat(64)), fc.constant('x'.repeat(65))), (candidate) => {
        let nodeAccepts = true;
        try {
          checkDatabaseName(candidate);
        } catch {
          nodeAccepts = false;
        }
        let clientAccepts = true;
        try {
          checkKeyDatabase('read-only', candidate);
        } catch {
          clientAccepts = false;
        }
        expect(clientAccepts).toBe(nodeAccepts);
      }),
      { numRuns: 2000, seed: 16 },
    );
  });
});

describe('openedKey', () => {
  it('refuses a key whose content names another place than its path', () => {
    const bytes = new TextEncoder().encode(JSON.stringify(key));
    expect(openedKey(bytes, 'here', key)).toEqual(key);
    for (const expected of [{ ...key, keyId: 'fedcba9876543210' }, { ...key, permission: 'read-write' as const }, { ...key, permission: 'admin' as const, database: null }]) {
      const error = errorOf(() => openedKey(bytes, 'here', expected));
      expect(error).toMatchObject({ code: 'auth/invalid-key' });
      expect(shown(error)).not.toContain(secret);
    }
    expect(errorOf(() => openedKey(new TextEncoder().encode(`{"secret":"${secret}"`), 'here', key))).toMatchObject({ code: 'auth/invalid-key' });
  });
});

describe('folders and encryption contexts', () => {
  it('puts admin keys under admin/ and database keys under dbs/<database>/<permission>/', () => {
    expect(accessKeyFolder('admin', null)).toBe('admin/');
    expect(accessKeyFolder('read-write', 'shop')).toBe('dbs/shop/read-write/');
    expect(accessKeyFolder('read-only', 'shop.eu')).toBe('dbs/shop.eu/read-only/');
  });

  it('binds system, purpose, key id, permission and database, and no secret', () => {
    expect(accessKeyContext('prod', key)).toEqual({ system: 'prod', purpose: 'access-key', keyId: key.keyId, permission: 'read-only', database: 'shop' });
    expect(accessKeyContext('prod', { ...key, permission: 'admin', database: null })).toEqual({
      system: 'prod',
      purpose: 'access-key',
      keyId: key.keyId,
      permission: 'admin',
    });
  });

  it('takes an access prefix that is a folder', () => {
    expect(checkAccessPrefix('access/')).toBe('access/');
    expect(checkAccessPrefix('keys/v1/')).toBe('keys/v1/');
    for (const bad of ['', 'access', '/access/', 'acc ess/', '../']) {
      expect(errorOf(() => checkAccessPrefix(bad))).toMatchObject({ code: 'client/invalid-config' });
    }
  });
});

describe('readAccessKeyFile', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'factum-key-file-'));
  });
  afterEach(() => rm(directory, { recursive: true, force: true }));

  it('reads a key file', async () => {
    await writeFile(path.join(directory, 'key.json'), JSON.stringify(key));
    expect(await readAccessKeyFile(path.join(directory, 'key.json'))).toEqual(key);
  });

  it('answers auth/key-not-found for a missing file, naming the path', async () => {
    const missing = path.join(directory, 'none.json');
    await expect(readAccessKeyFile(missing)).rejects.toMatchObject({ code: 'auth/key-not-found', data: { path: missing, systemCode: 'ENOENT' } });
  });

  it('answers auth/invalid-key for a file that is not JSON, without quoting it', async () => {
    await writeFile(path.join(directory, 'key.json'), `{"keyId":"0123456789abcdef","secret":"${secret}",`);
    const error = await readAccessKeyFile(path.join(directory, 'key.json')).then(
      () => expect.unreachable(),
      (caught: unknown) => caught as Record<string, unknown>,
    );
    expect(error).toMatchObject({ code: 'auth/invalid-key' });
    expect(shown(error)).not.toContain(secret);
  });
});

describe('fetchAccessKey', () => {
  it('checks its input before it loads anything', async () => {
    const aws = { bucket: 'b', region: 'us-east-1' };
    await expect(fetchAccessKey({ aws, system: 'prod', permission: 'owner' as never })).rejects.toMatchObject({ code: 'auth/invalid-key' });
    await expect(fetchAccessKey({ aws, system: 'prod', permission: 'read-only' })).rejects.toMatchObject({ code: 'auth/invalid-key' });
    await expect(fetchAccessKey({ aws, system: 'prod', permission: 'admin', database: 'shop' })).rejects.toMatchObject({ code: 'auth/invalid-key' });
    await expect(fetchAccessKey({ aws, system: 'prod', permission: 'admin', accessPrefix: '' })).rejects.toMatchObject({ code: 'client/invalid-config' });
  });

  it('leaves the AWS SDK and the envelope code to dynamic import(), so a key file needs neither', async () => {
    const source = await readFile(new URL('./access-key.ts', import.meta.url), 'utf8');
    const staticImports = [...source.matchAll(/^import\s[^;]*?from\s+'([^']+)';/gms)].map((match) => match[1]);
    expect(staticImports).toEqual(['node:fs/promises', '../../nodes/util/errors.ts']);
    expect(source).toContain("import('@aws-sdk/client-s3')");
    expect(source).toContain("import('@aws-sdk/client-kms')");
    expect(source).toContain("import('../../nodes/storage/aws/envelope.ts')");
  });
});
