//! A small KMS endpoint for tests and machines without LocalStack: the SDK's JSON protocol
//! (`X-Amz-Target: TrentService.<Operation>`, base64 binary fields, errors as `{"__type": ...}`
//! with status 400) for CreateKey, CreateAlias, DescribeKey, GenerateDataKey, Encrypt and Decrypt.
//!
//! Each key is 32 random bytes held in memory. A ciphertext blob is
//!   [1: format 1][1: n][n: key id][12: iv][16: GCM tag][ciphertext]
//! sealed with AES-256-GCM under the key, with the EncryptionContext (its entries sorted by name,
//! as JSON) as associated data: Decrypt with another context fails like KMS does, with
//! InvalidCiphertextException. Requests are not authenticated. Not for production.

import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const account = '000000000000';
const format = 1;

interface KeyEntry {
  readonly id: string;
  readonly arn: string;
  readonly material: Buffer;
  readonly description: string;
  readonly created: number;
}

class KmsFault extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

type Request = Record<string, unknown>;
type Context = Record<string, string>;

class KeyRing {
  private readonly keys = new Map<string, KeyEntry>();
  private readonly aliases = new Map<string, string>();

  constructor(private readonly region: string) {}

  create(description: string): KeyEntry {
    const id = randomUUID();
    const key = {
      id,
      arn: `arn:aws:kms:${this.region}:${account}:key/${id}`,
      material: randomBytes(32),
      description,
      created: Math.floor(Date.now() / 1000),
    };
    this.keys.set(id, key);
    return key;
  }

  alias(name: string, target: string): void {
    if (!name.startsWith('alias/')) throw new KmsFault('ValidationException', `alias ${name} must start with alias/`);
    if (this.aliases.has(name)) throw new KmsFault('AlreadyExistsException', `alias ${name} already exists`);
    this.aliases.set(name, this.resolve(target).id);
  }

  /** A key by id, key ARN, alias name or alias ARN. */
  resolve(reference: unknown): KeyEntry {
    if (typeof reference !== 'string' || reference === '') throw new KmsFault('ValidationException', 'KeyId is required');
    // arn:aws:kms:<region>:<account>:key/<id> or ...:alias/<name>
    const tail = reference.startsWith('arn:') ? reference.split(':').slice(5).join(':') : reference;
    const id = tail.startsWith('alias/') ? this.aliases.get(tail) : tail.replace(/^key\//, '');
    const key = id === undefined ? undefined : this.keys.get(id);
    if (key === undefined) throw new KmsFault('NotFoundException', `key ${reference} does not exist`);
    return key;
  }
}

function associatedData(context: unknown): Buffer {
  const entries = Object.entries((context ?? {}) as Context).sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0));
  return Buffer.from(JSON.stringify(entries), 'utf8');
}

function seal(key: KeyEntry, plaintext: Buffer, context: unknown): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.material, iv);
  cipher.setAAD(associatedData(context));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const id = Buffer.from(key.id, 'ascii');
  return Buffer.concat([Buffer.from([format, id.length]), id, iv, cipher.getAuthTag(), ciphertext]);
}

function open(keys: KeyRing, blob: Buffer, context: unknown, expectedKey: unknown): { key: KeyEntry; plaintext: Buffer } {
  const invalid = () => new KmsFault('InvalidCiphertextException', 'the ciphertext is invalid or its encryption context differs');
  if (blob.length < 2 || blob[0] !== format) throw invalid();
  const idEnd = 2 + blob[1];
  if (blob.length < idEnd + 28) throw invalid();
  let key: KeyEntry;
  try {
    key = keys.resolve(blob.subarray(2, idEnd).toString('ascii'));
  } catch {
    throw invalid();
  }
  if (expectedKey !== undefined && keys.resolve(expectedKey).id !== key.id) {
    throw new KmsFault('IncorrectKeyException', 'the ciphertext was not encrypted under the given key');
  }
  const decipher = createDecipheriv('aes-256-gcm', key.material, blob.subarray(idEnd, idEnd + 12));
  decipher.setAAD(associatedData(context));
  decipher.setAuthTag(blob.subarray(idEnd + 12, idEnd + 28));
  try {
    return { key, plaintext: Buffer.concat([decipher.update(blob.subarray(idEnd + 28)), decipher.final()]) };
  } catch {
    throw invalid();
  }
}

function metadata(key: KeyEntry): Record<string, unknown> {
  return {
    KeyId: key.id,
    Arn: key.arn,
    AWSAccountId: account,
    CreationDate: key.created,
    Description: key.description,
    Enabled: true,
    KeyState: 'Enabled',
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeySpec: 'SYMMETRIC_DEFAULT',
    CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
    EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    KeyManager: 'CUSTOMER',
    Origin: 'AWS_KMS',
  };
}

function dataKeyBytes(request: Request): number {
  if (typeof request.NumberOfBytes === 'number') return request.NumberOfBytes;
  if (request.KeySpec === 'AES_128') return 16;
  if (request.KeySpec === 'AES_256') return 32;
  throw new KmsFault('ValidationException', 'one of KeySpec (AES_128, AES_256) or NumberOfBytes is required');
}

function base64(request: Request, field: string): Buffer {
  const value = request[field];
  if (typeof value !== 'string') throw new KmsFault('ValidationException', `${field} is required`);
  return Buffer.from(value, 'base64');
}

type Operation = (keys: KeyRing, request: Request) => Record<string, unknown>;

const operations: Record<string, Operation> = {
  CreateKey: (keys, request) => ({ KeyMetadata: metadata(keys.create(String(request.Description ?? ''))) }),
  CreateAlias: (keys, request) => {
    keys.alias(String(request.AliasName), String(request.TargetKeyId));
    return {};
  },
  DescribeKey: (keys, request) => ({ KeyMetadata: metadata(keys.resolve(request.KeyId)) }),
  GenerateDataKey: (keys, request) => {
    const key = keys.resolve(request.KeyId);
    const plaintext = randomBytes(dataKeyBytes(request));
    const blob = seal(key, plaintext, request.EncryptionContext);
    return { KeyId: key.arn, Plaintext: plaintext.toString('base64'), CiphertextBlob: blob.toString('base64') };
  },
  Encrypt: (keys, request) => {
    const key = keys.resolve(request.KeyId);
    const blob = seal(key, base64(request, 'Plaintext'), request.EncryptionContext);
    return { KeyId: key.arn, CiphertextBlob: blob.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  },
  Decrypt: (keys, request) => {
    const opened = open(keys, base64(request, 'CiphertextBlob'), request.EncryptionContext, request.KeyId);
    return { KeyId: opened.key.arn, Plaintext: opened.plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  },
};

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
  response.end(JSON.stringify(body));
}

async function handle(keys: KeyRing, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const target = String(request.headers['x-amz-target'] ?? '');
  const name = target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : '';
  try {
    const operation = operations[name];
    if (operation === undefined) throw new KmsFault('UnsupportedOperationException', `operation ${target} is not emulated`);
    const text = await readBody(request);
    let parsed: unknown;
    try {
      parsed = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new KmsFault('SerializationException', 'the request body is not JSON');
    }
    answer(response, 200, operation(keys, parsed as Request));
  } catch (error) {
    if (!(error instanceof KmsFault)) throw error;
    answer(response, 400, { __type: error.type, message: error.message });
  }
}

export interface KmsServer {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Starts the KMS endpoint on 127.0.0.1, on a port chosen by the system. */
export async function startKmsServer(options: { region?: string } = {}): Promise<KmsServer> {
  const keys = new KeyRing(options.region ?? 'us-east-1');
  const server = createServer((request, response) => {
    handle(keys, request, response).catch((error: unknown) => answer(response, 500, { __type: 'KMSInternalException', message: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}
