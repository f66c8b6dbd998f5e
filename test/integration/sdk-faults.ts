// Fault injection through the AWS SDK's middleware stack, drawn from a seeded generator so that a
// failing run replays exactly. The middleware sits in the deserialize step just above the HTTP
// handler, so injected answers go through the SDK's own error parsing, as real ones do:
//   throttle       answer 400 ProvisionedThroughputExceededException (DynamoDB) or 503 SlowDown
//                  (S3) without sending the request: nothing happens
//   server-error   answer 500 without sending the request (the caller cannot know that)
//   slow-response  send the request (the write happens), then hold the answer for `delayMs`
//   drop-response  send the request (the write happens), then fail as a reset connection would
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { seededRandom } from '../../nodes/storage/fault.ts';

export type SdkFault = 'throttle' | 'server-error' | 'slow-response' | 'drop-response';

export interface SdkFaultOptions {
  readonly seed: number;
  /** Probability of each fault per request (checked in this order). */
  readonly rates: Partial<Record<SdkFault, number>>;
  /** Only these commands (e.g. 'PutItemCommand') get faults. @default every command */
  readonly commands?: readonly string[];
  /** How long a slow response is held. @default 200 */
  readonly delayMs?: number;
  /** Inject only into the first `limit` requests that roll a fault. @default no limit */
  readonly limit?: number;
  /** After each fault, let this many requests through untouched (a retry then gets through). @default 0 */
  readonly passesAfterFault?: number;
}

export interface SdkFaultControl {
  enabled: boolean;
  readonly events: { readonly command: string; readonly fault: SdkFault }[];
}

type Service = 'dynamodb' | 's3';
const faultOrder: readonly SdkFault[] = ['throttle', 'server-error', 'slow-response', 'drop-response'];

function answer(service: Service, fault: 'throttle' | 'server-error'): { response: unknown } {
  const throttled = fault === 'throttle';
  if (service === 'dynamodb') {
    const type = throttled ? 'ProvisionedThroughputExceededException' : 'InternalServerError';
    const body = JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message: `injected ${fault}` });
    return {
      response: {
        statusCode: throttled ? 400 : 500,
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'injected' },
        body: new TextEncoder().encode(body),
      },
    };
  }
  const code = throttled ? 'SlowDown' : 'InternalError';
  const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected ${fault}</Message></Error>`;
  return {
    response: {
      statusCode: throttled ? 503 : 500,
      headers: { 'content-type': 'application/xml' },
      body: new TextEncoder().encode(body),
    },
  };
}

function connectionReset(): Error {
  return Object.assign(new Error('socket hang up (injected after the request was served)'), { code: 'ECONNRESET' });
}

/**
 * Adds the fault middleware to one client.
 *
 * @example
 * const clients = createAwsClients(config);
 * const faults = addSdkFaults(clients.dynamodb, 'dynamodb', { seed: 1, rates: { 'drop-response': 0.2 } });
 */
export function addSdkFaults(client: DynamoDBClient | S3Client, service: Service, options: SdkFaultOptions): SdkFaultControl {
  const control: SdkFaultControl = { enabled: true, events: [] };
  const random = seededRandom(options.seed);
  let passes = 0;
  const roll = (command: string): SdkFault | undefined => {
    if (!control.enabled || (options.commands !== undefined && !options.commands.includes(command))) return undefined;
    if (options.limit !== undefined && control.events.length >= options.limit) return undefined;
    if (passes > 0) {
      passes--;
      return undefined;
    }
    for (const fault of faultOrder) {
      const rate = options.rates[fault] ?? 0;
      if (rate > 0 && random() < rate) {
        passes = options.passesAfterFault ?? 0;
        return fault;
      }
    }
    return undefined;
  };
  const middleware =
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
    async (args: unknown): Promise<unknown> => {
      const command = context.commandName ?? 'unknown';
      const fault = roll(command);
      if (fault === undefined) return next(args);
      control.events.push({ command, fault });
      if (fault === 'throttle' || fault === 'server-error') return answer(service, fault);
      const result = await next(args);
      if (fault === 'drop-response') throw connectionReset();
      await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 200));
      return result;
    };
  (client.middlewareStack as { add: (middleware: unknown, options: unknown) => void }).add(middleware, {
    step: 'deserialize',
    priority: 'low',
    name: 'factumInjectedFaults',
  });
  return control;
}
