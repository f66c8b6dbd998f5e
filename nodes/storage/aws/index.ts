export { createAwsStorage, type AwsStorage, type AwsStorageOptions } from './aws-storage.ts';
export { createAwsClients, destroyAwsClients, type AwsClients } from './clients.ts';
export {
  awsStorageConfigFromEnvironment,
  checkAwsStorageConfig,
  type AwsCredentials,
  type AwsStorageConfig,
  type RetryPolicy,
} from './config.ts';
export { openSecret, sealSecret, type EncryptionContext, type EnvelopeOptions } from './envelope.ts';
export { tableKeySchema } from './table-layout.ts';
