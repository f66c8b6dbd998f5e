import { CreateAliasCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKmsServer, type KmsServer } from './kms-server.ts';

let server: KmsServer;
let kms: KMSClient;
let keyArn: string;

beforeAll(async () => {
  server = await startKmsServer();
  kms = new KMSClient({ region: 'us-east-1', endpoint: server.endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 });
  const created = await kms.send(new CreateKeyCommand({ Description: 'test' }));
  keyArn = created.KeyMetadata?.Arn ?? '';
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/test', TargetKeyId: created.KeyMetadata?.KeyId }));
});

afterAll(async () => {
  kms.destroy();
  await server.stop();
});

const context = { purpose: 'test' };

describe('the KMS endpoint of the emulator', () => {
  it('describes a key by id, ARN and alias', async () => {
    for (const reference of [keyArn, keyArn.split('/')[1], 'alias/test']) {
      const described = await kms.send(new DescribeKeyCommand({ KeyId: reference }));
      expect(described.KeyMetadata?.Arn).toBe(keyArn);
      expect(described.KeyMetadata?.Enabled).toBe(true);
    }
  });

  it('generates a data key whose blob decrypts to it under the same context only', async () => {
    const generated = await kms.send(new GenerateDataKeyCommand({ KeyId: 'alias/test', KeySpec: 'AES_256', EncryptionContext: context }));
    expect(generated.Plaintext).toHaveLength(32);
    const decrypted = await kms.send(new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob, EncryptionContext: context }));
    expect(decrypted.Plaintext).toEqual(generated.Plaintext);
    expect(decrypted.KeyId).toBe(keyArn);
    await expect(
      kms.send(new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob, EncryptionContext: { purpose: 'other' } })),
    ).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
  });

  it('encrypts and decrypts small plaintexts', async () => {
    const plaintext = new TextEncoder().encode('secret');
    const encrypted = await kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: plaintext }));
    const decrypted = await kms.send(new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob, KeyId: keyArn }));
    expect(decrypted.Plaintext).toEqual(plaintext);
  });

  it('answers unknown keys, bad blobs and wrong keys with the errors KMS uses', async () => {
    await expect(kms.send(new DescribeKeyCommand({ KeyId: 'alias/missing' }))).rejects.toMatchObject({ name: 'NotFoundException' });
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: new Uint8Array([1, 2, 3]) }))).rejects.toMatchObject({
      name: 'InvalidCiphertextException',
    });
    const other = await kms.send(new CreateKeyCommand({}));
    const encrypted = await kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: new Uint8Array([1]) }));
    await expect(
      kms.send(new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob, KeyId: other.KeyMetadata?.KeyId })),
    ).rejects.toMatchObject({ name: 'IncorrectKeyException' });
  });
});
