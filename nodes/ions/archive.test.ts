import { describe, expect, it } from 'vitest';
import { packRevision, unpackRevision } from './archive.ts';
import { isFactumError, type FactumError } from '../util/errors.ts';
import type { IonConfig } from './revision.ts';

const config: IonConfig = { appName: 'shop', allow: ['transfer', 'score'], http: { handler: 'web' }, lambdas: { report: { handler: 'report', timeoutSeconds: 30 } } };
const bundle = 'export async function transfer() { return []; }\n// ünïcödé ✓\n';

function failure(bytes: Uint8Array): FactumError {
  try {
    unpackRevision(bytes);
  } catch (error) {
    expect(isFactumError(error, 'ion/invalid-revision')).toBe(true);
    return error as FactumError;
  }
  throw new Error('unpackRevision accepted a malformed archive');
}

describe('revision archive', () => {
  it('round-trips the bundle and the config', () => {
    const unpacked = unpackRevision(packRevision({ bundle, config }));
    expect(unpacked.bundle).toBe(bundle);
    expect(unpacked.config).toEqual(config);
  });

  it('gives the same bytes for the same contents, whatever the order of the config keys', () => {
    const reordered = { lambdas: config.lambdas, http: config.http, allow: config.allow, appName: 'shop' } as IonConfig;
    expect(Buffer.from(packRevision({ bundle, config: reordered })).equals(Buffer.from(packRevision({ bundle, config })))).toBe(true);
  });

  it('gives other bytes for one byte more in the bundle or another config', () => {
    const packed = Buffer.from(packRevision({ bundle, config }));
    expect(packed.equals(Buffer.from(packRevision({ bundle: bundle + ' ', config })))).toBe(false);
    expect(packed.equals(Buffer.from(packRevision({ bundle, config: { ...config, allow: ['transfer'] } })))).toBe(false);
  });

  it('refuses every flipped byte', () => {
    const packed = packRevision({ bundle, config });
    for (let index = 0; index < packed.length; index++) {
      const corrupted = Uint8Array.from(packed);
      corrupted[index] = corrupted[index]! ^ 0x01;
      failure(corrupted);
    }
  });

  it('says what is wrong: truncated, padded, foreign, another version, a bad config', () => {
    const packed = packRevision({ bundle, config });
    expect(failure(packed.subarray(0, 20)).message).toMatch(/20 bytes, shorter than its 49-byte header/);
    expect(failure(packed.subarray(0, packed.length - 1)).message).toMatch(/bytes where its header says/);
    expect(failure(Buffer.concat([packed, Buffer.from([0])])).message).toMatch(/bytes where its header says/);
    expect(failure(Buffer.from('PK\u0003\u0004'.padEnd(60, '\0'))).message).toMatch(/does not start with "FACTUMIR"/);
    const version = Uint8Array.from(packed);
    version[8] = 2;
    expect(failure(version).message).toMatch(/format version 2; expected 1/);
    const corrupted = Uint8Array.from(packed);
    corrupted[packed.length - 1] = 0x20;
    expect(failure(corrupted).message).toMatch(/SHA-256 does not match/);
    const badConfig = packRevision({ bundle, config: { appName: 'Shop', allow: [] } as IonConfig });
    expect(failure(badConfig).message).toMatch(/appName is "Shop"/);
    expect(failure(new Uint8Array(0)).message).toMatch(/0 bytes/);
  });

  it('reads an archive inside a larger buffer (a view)', () => {
    const packed = packRevision({ bundle, config });
    const larger = new Uint8Array(packed.length + 10);
    larger.set(packed, 5);
    expect(unpackRevision(larger.subarray(5, 5 + packed.length)).bundle).toBe(bundle);
  });
});
