//! How a remote client obtains its access key, once, on its first call: given in the
//! configuration, read from a key file, or fetched from the system's S3 bucket and unwrapped with
//! KMS (access-key.ts). A failed fetch is tried again on the next call.
import type { RemoteClientConfig } from '../types.ts';
import { fetchAccessKey, readAccessKeyFile, type AccessKey } from './access-key.ts';
import { FactumError } from '../../nodes/util/errors.ts';

export function resolveAccessKey(config: RemoteClientConfig): () => Promise<AccessKey> {
  let key: Promise<AccessKey> | null = null;
  const load = async (): Promise<AccessKey> => {
    if (config.accessKey !== undefined) {
      const { keyId, secret } = config.accessKey;
      if (typeof keyId !== 'string' || typeof secret !== 'string' || keyId === '' || secret === '') {
        throw new FactumError('client/invalid-config', 'accessKey must be { keyId, secret }, both non-empty strings.', {});
      }
      return { keyId, secret, permission: 'admin', database: null } as AccessKey;
    }
    if (config.keyFile !== undefined) return readAccessKeyFile(config.keyFile);
    const credentials = config.credentials!;
    return fetchAccessKey({
      aws: {
        bucket: credentials.bucket,
        region: credentials.region,
        ...(credentials.prefix === undefined ? {} : { prefix: credentials.prefix }),
        ...(credentials.s3Endpoint === undefined ? {} : { s3Endpoint: credentials.s3Endpoint }),
        ...(credentials.kmsEndpoint === undefined ? {} : { kmsEndpoint: credentials.kmsEndpoint }),
        ...(credentials.aws === undefined ? {} : { credentials: credentials.aws }),
      },
      system: config.system,
      permission: credentials.permission,
      ...(credentials.database === undefined ? {} : { database: credentials.database }),
      ...(credentials.accessPrefix === undefined ? {} : { accessPrefix: credentials.accessPrefix }),
    });
  };
  return () => {
    key ??= load();
    key.catch(() => (key = null));
    return key;
  };
}
