export type { AccessKey, AccessKeyStore, Permission } from './key-store.ts';
export { checkKeyRequest, compareAccessKeys } from './key-store.ts';
export { openLocalKeyStore } from './local-key-store.ts';
export { openS3KeyStore, type S3KeyStoreOptions } from './s3-key-store.ts';
