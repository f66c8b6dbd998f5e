// KMS envelope encryption (nodes/storage/aws/envelope.ts) against the emulator's KMS endpoint, or
// LocalStack's or real KMS when FACTUM_KMS_KEY is given.
import { afterAll, describe, expect, it } from 'vitest';
import { createAwsClients, destroyAwsClients, openSecret, sealSecret } from '../../nodes/storage/aws/index.ts';
import { integrationConfig, isEmulator } from './aws-environment.ts';

const config = integrationConfig();
const clients = createAwsClients(config);
const keyId = config.kmsKey ?? '';
const context = { system: 'test', purpose: 'access-key' };
const secret = new TextEncoder().encode('an access key: 0123456789abcdef');

afterAll(() => destroyAwsClients(clients));

describe('KMS envelope encryption', () => {
  it('opens what it sealed, given the same context', async () => {
    const sealed = await sealSecret(clients.kms, keyId, secret, context);
    expect(Buffer.from(sealed).includes(Buffer.from(secret))).toBe(false);
    expect(await openSecret(clients.kms, sealed, { purpose: 'access-key', system: 'test' })).toEqual(secret);
  });

  // The emulator and the LocalStack init script create alias/factum; a real system need not.
  it.skipIf(!isEmulator())('seals under an alias too, and twice differently', async () => {
    const first = await sealSecret(clients.kms, 'alias/factum', secret, context);
    const second = await sealSecret(clients.kms, 'alias/factum', secret, context);
    expect(Buffer.compare(first, second)).not.toBe(0);
    expect(await openSecret(clients.kms, second, context)).toEqual(secret);
  });

  it('refuses another context with secret/decrypt-failed', async () => {
    const sealed = await sealSecret(clients.kms, keyId, secret, context);
    for (const other of [{ ...context, system: 'prod' }, { system: 'test' }, { ...context, extra: 'x' }]) {
      await expect(openSecret(clients.kms, sealed, other)).rejects.toMatchObject({ code: 'secret/decrypt-failed' });
    }
  });

  it('refuses a sealed secret whose ciphertext changed with secret/decrypt-failed', async () => {
    const sealed = await sealSecret(clients.kms, keyId, secret, context);
    const tampered = Uint8Array.from(sealed);
    tampered[tampered.length - 1] ^= 1;
    await expect(openSecret(clients.kms, tampered, context)).rejects.toMatchObject({ code: 'secret/decrypt-failed' });
  });

  it('refuses malformed envelopes and empty contexts with secret/malformed', async () => {
    await expect(openSecret(clients.kms, new Uint8Array([9, 0, 0]), context)).rejects.toMatchObject({ code: 'secret/malformed' });
    await expect(openSecret(clients.kms, new Uint8Array([1, 0, 200, 1]), context)).rejects.toMatchObject({ code: 'secret/malformed' });
    await expect(sealSecret(clients.kms, keyId, secret, {})).rejects.toMatchObject({ code: 'secret/malformed' });
  });

  it('refuses an unknown key with storage/io', async () => {
    await expect(sealSecret(clients.kms, 'alias/no-such-key', secret, context)).rejects.toMatchObject({ code: 'storage/io' });
  });
});
