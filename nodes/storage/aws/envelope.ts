//! KMS envelope encryption of small secrets (the system's access keys, kept in S3): a fresh data
//! key from KMS GenerateDataKey seals the secret locally with AES-256-GCM; only the data key
//! wrapped by KMS is kept beside it. Opening asks KMS to Decrypt the wrapped key.
//!
//! The encryption context (a few name → value strings, e.g. `{ system: 'prod', purpose:
//! 'access-key' }`) is bound twice: KMS binds it to the wrapped key, and the local seal uses it as
//! associated data. Opening with any other context fails with `secret/decrypt-failed`.
//!
//! Envelope bytes:
//!   [1: format = 1][2: n, big-endian][n: wrapped data key][12: iv][16: GCM tag][ciphertext]

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
// The KMS client's module is loaded when first needed, not here: a remote client bundled into one
// file for Lambda loads this module lazily, and a static import would be hoisted to its start.
import type * as Kms from '@aws-sdk/client-kms';
import type { KMSClient } from '@aws-sdk/client-kms';
import { fail, FactumError } from '../../util/errors.ts';
import type { RetryPolicy } from './config.ts';
import { resolveRetryPolicy, withRetries } from './retry.ts';

export type EncryptionContext = Readonly<Record<string, string>>;

const kmsModule = (): Promise<typeof Kms> => import('@aws-sdk/client-kms');

const format = 1;
const ivBytes = 12;
const tagBytes = 16;

/** The context as associated data: its entries sorted by name, as JSON. */
function associatedData(context: EncryptionContext): Buffer {
  const entries = Object.entries(context).sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0));
  return Buffer.from(JSON.stringify(entries), 'utf8');
}

function checkContext(context: EncryptionContext): void {
  const entries = Object.entries(context ?? {});
  if (entries.length === 0 || entries.some(([name, value]) => name === '' || typeof value !== 'string')) {
    fail('secret/malformed', `encryption context ${JSON.stringify(context)} is invalid; expected at least one name with a string value`, {
      context,
    });
  }
}

function decryptFailed(error: unknown, context: EncryptionContext): FactumError {
  const name = error instanceof Error ? error.name : String(error);
  return new FactumError(
    'secret/decrypt-failed',
    `the secret could not be opened (${name}); expected the key and encryption context ${JSON.stringify(context)} it was sealed with`,
    { context, error: name },
    { cause: error },
  );
}

export interface EnvelopeOptions {
  /** @default - see RetryPolicy */
  readonly retry?: RetryPolicy;
}

/**
 * Seals `secret` under the KMS key `keyId` (id, ARN or alias) bound to `context`.
 *
 * @example
 * const sealed = await sealSecret(kms, 'alias/factum', accessKey, { system: 'prod', purpose: 'access-key' });
 */
export async function sealSecret(
  kms: KMSClient,
  keyId: string,
  secret: Uint8Array,
  context: EncryptionContext,
  options: EnvelopeOptions = {},
): Promise<Uint8Array> {
  checkContext(context);
  const { GenerateDataKeyCommand } = await kmsModule();
  const answer = await withRetries(resolveRetryPolicy(options.retry), 'sealSecret', `KMS key ${keyId}`, ({ abortSignal }) =>
    kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: { ...context } }), { abortSignal }),
  );
  const dataKey = answer.Plaintext;
  const wrapped = answer.CiphertextBlob;
  if (dataKey === undefined || wrapped === undefined || dataKey.length !== 32 || wrapped.length > 0xffff) {
    fail('storage/io', `KMS GenerateDataKey for ${keyId} returned no usable data key; expected 32 bytes and a wrapped key`, { keyId });
  }
  try {
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
    cipher.setAAD(associatedData(context));
    const ciphertext = Buffer.concat([cipher.update(secret), cipher.final()]);
    const header = Buffer.from([format, wrapped.length >> 8, wrapped.length & 0xff]);
    return new Uint8Array(Buffer.concat([header, wrapped, iv, cipher.getAuthTag(), ciphertext]));
  } finally {
    dataKey.fill(0);
  }
}

interface Envelope {
  readonly wrapped: Uint8Array;
  readonly iv: Uint8Array;
  readonly tag: Uint8Array;
  readonly ciphertext: Uint8Array;
}

function parseEnvelope(sealed: Uint8Array): Envelope {
  const malformed = (): never =>
    fail('secret/malformed', `sealed secret of ${sealed.length} bytes is malformed; expected bytes made by sealSecret (format ${format})`, {
      size: sealed.length,
    });
  if (sealed.length < 3 || sealed[0] !== format) malformed();
  const wrappedEnd = 3 + ((sealed[1] << 8) | sealed[2]);
  if (wrappedEnd === 3 || sealed.length < wrappedEnd + ivBytes + tagBytes) malformed();
  return {
    wrapped: sealed.subarray(3, wrappedEnd),
    iv: sealed.subarray(wrappedEnd, wrappedEnd + ivBytes),
    tag: sealed.subarray(wrappedEnd + ivBytes, wrappedEnd + ivBytes + tagBytes),
    ciphertext: sealed.subarray(wrappedEnd + ivBytes + tagBytes),
  };
}

async function unwrapDataKey(kms: KMSClient, wrapped: Uint8Array, context: EncryptionContext, options: EnvelopeOptions): Promise<Uint8Array> {
  const { DecryptCommand } = await kmsModule();
  const answer = await withRetries(resolveRetryPolicy(options.retry), 'openSecret', 'KMS Decrypt', async ({ abortSignal }) => {
    try {
      return await kms.send(new DecryptCommand({ CiphertextBlob: wrapped, EncryptionContext: { ...context } }), { abortSignal });
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (name === 'InvalidCiphertextException' || name === 'IncorrectKeyException') throw decryptFailed(error, context);
      throw error;
    }
  });
  if (answer.Plaintext === undefined || answer.Plaintext.length !== 32) {
    fail('storage/io', 'KMS Decrypt returned no usable data key; expected 32 bytes', {});
  }
  return answer.Plaintext;
}

/** Opens a secret sealed by `sealSecret`, given the same encryption context. */
export async function openSecret(
  kms: KMSClient,
  sealed: Uint8Array,
  context: EncryptionContext,
  options: EnvelopeOptions = {},
): Promise<Uint8Array> {
  checkContext(context);
  const envelope = parseEnvelope(sealed);
  const dataKey = await unwrapDataKey(kms, envelope.wrapped, context, options);
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, envelope.iv);
    decipher.setAAD(associatedData(context));
    decipher.setAuthTag(envelope.tag);
    return new Uint8Array(Buffer.concat([decipher.update(envelope.ciphertext), decipher.final()]));
  } catch (error) {
    throw decryptFailed(error, context);
  } finally {
    dataKey.fill(0);
  }
}
