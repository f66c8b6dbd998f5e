//! Signed requests to a node sent by hand, as client/remote/transport.ts builds them, without the
//! client's retries: tests see each answer (status, body) or each lost connection as it happened.
import http from 'node:http';
import type { AccessKey } from '../../client/remote/access-key.ts';
import { signRequest } from '../../client/remote/signing.ts';
import { decode, encode } from '../../client/wire/codec.ts';
import { contentTypes, type Operation } from '../../client/wire/protocol.ts';

export interface RawAnswer {
  readonly status: number;
  /** The decoded message (for errors `{ error: { code, category, message, data } }`). */
  readonly body: Record<string, unknown>;
}

/** The answer to a transact, as the node sends it. */
export interface TransactAnswer {
  readonly dbAfter: { readonly basisT: number };
  readonly tempids: Record<string, number>;
  readonly txData: unknown[];
  readonly duplicate: boolean;
}

/** A connection that failed before its answer was read. */
export class LostAnswer extends Error {
  constructor(override readonly cause: Error) {
    super(`the answer was lost: ${cause.message}`);
  }
}

/** POSTs one signed message to `operation`; one attempt, a new connection. Rejects with LostAnswer when no answer came. */
export async function postSigned(endpoint: string, system: string, key: AccessKey, operation: Operation, args: object): Promise<RawAnswer> {
  const url = new URL(endpoint);
  const body = encode(args);
  const path = `/api/${operation}`;
  const headers: Record<string, string> = { host: url.host, 'content-type': contentTypes.message, accept: contentTypes.message, 'content-length': String(body.length) };
  Object.assign(headers, signRequest(key, system, { method: 'POST', path, headers: { host: url.host, 'content-type': contentTypes.message }, body }, Date.now()));
  return new Promise<RawAnswer>((resolve, reject) => {
    const request = http.request({ hostname: url.hostname, port: url.port, path, method: 'POST', headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('end', () => resolve({ status: response.statusCode ?? 0, body: decode(Buffer.concat(chunks)) as Record<string, unknown> }));
      response.once('error', (error) => reject(new LostAnswer(error)));
      response.once('aborted', () => reject(new LostAnswer(new Error('aborted'))));
    });
    request.once('error', (error) => reject(new LostAnswer(error)));
    request.end(body);
  });
}

/** The error code of an answer that is an error. */
export function errorCode(answer: RawAnswer): string | undefined {
  return (answer.body.error as { code?: string } | undefined)?.code;
}
