import { describe, expect, it } from 'vitest';
import { awsStorageConfigFromEnvironment, checkAwsStorageConfig } from './config.ts';

const environment = {
  FACTUM_TABLE: 'factum-prod',
  FACTUM_BUCKET: 'factum-prod-bucket',
  FACTUM_KMS_KEY: 'alias/factum',
  AWS_REGION: 'eu-west-1',
};

describe('AWS storage configuration', () => {
  it('reads the environment the infrastructure sets, endpoint overrides included', () => {
    expect(awsStorageConfigFromEnvironment(environment)).toEqual({
      table: 'factum-prod',
      bucket: 'factum-prod-bucket',
      kmsKey: 'alias/factum',
      region: 'eu-west-1',
      dynamodbEndpoint: undefined,
      s3Endpoint: undefined,
      kmsEndpoint: undefined,
    });
    const local = awsStorageConfigFromEnvironment({ ...environment, FACTUM_S3_ENDPOINT: 'http://127.0.0.1:9000' });
    expect(local.s3Endpoint).toBe('http://127.0.0.1:9000');
  });

  it.each(['FACTUM_TABLE', 'FACTUM_BUCKET', 'AWS_REGION'])('refuses an environment without %s with client/invalid-config', (name) => {
    expect(() => awsStorageConfigFromEnvironment({ ...environment, [name]: undefined })).toThrow(
      expect.objectContaining({ code: 'client/invalid-config', data: { name } }),
    );
  });

  it('refuses bad endpoints, prefixes, spill sizes and attempt counts with client/invalid-config', () => {
    const base = { table: 't', bucket: 'b', region: 'r' };
    for (const bad of [
      { ...base, s3Endpoint: 'localhost:9000' },
      { ...base, dynamodbEndpoint: 'ftp://x' },
      { ...base, prefix: 'has space/' },
      { ...base, spillBytesMin: 500 * 1024 },
      { ...base, retry: { attemptsMax: 0 } },
      { ...base, table: '' },
    ]) {
      expect(() => checkAwsStorageConfig(bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'client/invalid-config' }));
    }
  });
});
