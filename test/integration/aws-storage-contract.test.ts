// The storage contract suite that memory and local storage pass, on the AWS backend.
import { describeStorageContract } from '../../nodes/storage/contract.ts';
import { makeAwsStorage } from './aws-environment.ts';

describeStorageContract('aws', () => makeAwsStorage());
