//! Raw HTTP requests to a node, signed as the remote client signs them (client/remote/signing.ts),
//! for the tests of test/server that need to send what the remote client never would: bodies that
//! are not messages, wrong arguments, tampered signatures, stale dates.
//!
//! `prepare` builds a signed request as plain data (method, path, headers, body), so that a test
//! can change one part after signing; `send` sends it over node:http exactly as given (no header
//! added but content-length) and reads the whole answer.
import http from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { signRequest } from '../../client/remote/signing.ts';
import { decode, encode } from '../../client/wire/codec.ts';
import { contentTypes, type WireError } from '../../client/wire/protocol.ts';

/** A key as key files hold it. */
export interface KeyFile {
  readonly keyId: string;
  readonly secret: string;
  readonly permission: 'admin' | 'read-write' | 'read-only';
  readonly database: string | null;
}

export interface Target {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly system: string;
}

/** A request as it will go on the wire. Header names in lower case. */
export interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Uint8Array;
  /** The body as UTF-8 text (for searching it). */
  readonly text: string;
}

export function readKeyFile(file: string): KeyFile {
  return JSON.parse(readFileSync(file, 'utf8')) as KeyFile;
}

/** The one key file of a database and permission under a local data directory. */
export function databaseKeyFile(dataDir: string, database: string, permission: 'read-write' | 'read-only'): string {
  const folder = path.join(dataDir, 'access', 'dbs', database, permission);
  const files = readdirSync(folder).filter((name) => name.endsWith('.json'));
  if (files.length !== 1) throw new Error(`expected one key file in ${folder}, found ${files.length}`);
  return path.join(folder, files[0]!);
}

export interface PrepareOptions {
  readonly method?: string;
  /** @default - the message content type */
  readonly contentType?: string;
  readonly accept?: string;
  /** Extra headers to send and sign (x-factum-* ones are signed). */
  readonly headers?: Readonly<Record<string, string>>;
  /** @default - now */
  readonly nowMs?: number;
  /** The system to sign for. @default - the target's */
  readonly system?: string;
}

/** A request for `path` with `body` (bytes, or a value encoded as one message), signed with `key`. */
export function prepare(target: Target, key: { keyId: string; secret: string }, requestPath: string, body: Uint8Array | string | object, options: PrepareOptions = {}): RawRequest {
  const bytes = body instanceof Uint8Array ? body : typeof body === 'string' ? new TextEncoder().encode(body) : encode(body);
  const method = options.method ?? 'POST';
  const headers: Record<string, string> = { host: new URL(target.endpoint).host, 'content-type': options.contentType ?? contentTypes.message, ...(options.headers ?? {}) };
  if (options.accept !== undefined) headers.accept = options.accept;
  const signed = signRequest(key, options.system ?? target.system, { method, path: requestPath, headers, body: bytes }, options.nowMs ?? Date.now());
  return { method, path: requestPath, headers: { ...headers, ...signed }, body: bytes };
}

/** A signed POST /api/<operation> of `args` as one message. */
export function prepareCall(target: Target, key: { keyId: string; secret: string }, operation: string, args: unknown, options: PrepareOptions = {}): RawRequest {
  return prepare(target, key, `/api/${operation}`, encode(args), options);
}

/** Sends `request` as it is (its own connection unless `agent` is given) and reads the whole answer. */
export function send(target: Target, request: RawRequest, agent: http.Agent | false = false, signal?: AbortSignal): Promise<RawResponse> {
  const url = new URL(target.endpoint);
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      {
        hostname: url.hostname,
        port: url.port,
        method: request.method,
        path: request.path,
        headers: { ...request.headers, 'content-length': String(request.body.length) },
        agent,
        // Send the header names and values exactly as given, even invalid ones a test made.
        insecureHTTPParser: true,
        ...(signal === undefined ? {} : { signal }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('error', reject);
        response.once('end', () => {
          const body = new Uint8Array(Buffer.concat(chunks));
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body, text: Buffer.from(body).toString('utf8') });
        });
      },
    );
    outgoing.once('error', reject);
    outgoing.end(request.body);
  });
}

/** The error of a refusal sent as one message. */
export function wireErrorOf(response: RawResponse): WireError {
  const decoded = decode(response.body) as { error?: WireError };
  if (decoded.error === undefined) throw new Error(`HTTP ${response.status} answered ${response.text.slice(0, 200)}, not an error`);
  return decoded.error;
}

/** The value of a 200 answer sent as one message. */
export function valueOf(response: RawResponse): unknown {
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${response.text.slice(0, 300)}`);
  return decode(response.body);
}

/** Signs and sends one call; answers the response. */
export function call(target: Target, key: { keyId: string; secret: string }, operation: string, args: unknown, options: PrepareOptions = {}): Promise<RawResponse> {
  return send(target, prepareCall(target, key, operation, args, options));
}

/** The newest basis t of `database`, read with `key` (fails the test unless answered 200). */
export async function basisTOf(target: Target, key: { keyId: string; secret: string }, database: string): Promise<number> {
  const ref = valueOf(await call(target, key, 'connect', { database })) as { basisT: number };
  return ref.basisT;
}

/** The forms in which a secret could leak: as written, its bytes as standard base64 and as hex, its text as hex and base64. */
export function secretForms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'base64url');
  const text = Buffer.from(secret, 'utf8');
  return [secret, bytes.toString('base64').replace(/=+$/, ''), bytes.toString('hex'), text.toString('hex'), text.toString('base64').replace(/=+$/, '')];
}

/** The forms of `secret` found in `text` (hex in either case); empty when none. */
export function secretsIn(text: string, secret: string): string[] {
  const lower = text.toLowerCase();
  return secretForms(secret).filter((form) => text.includes(form) || (/^[0-9a-f]+$/.test(form) && lower.includes(form)));
}
