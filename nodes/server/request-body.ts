//! Reading and decoding a request's body: bounded in bytes (refused past the limit without
//! buffering the rest), then one message (client/wire/codec.ts) or an EDN map with keyword keys
//! (for people with curl) holding the operation's arguments.
import type { IncomingMessage } from 'node:http';
import { decode } from '../../client/wire/codec.ts';
import { contentTypes } from '../../client/wire/protocol.ts';
import { readEdn } from '../edn/reader.ts';
import { FactumError } from '../util/errors.ts';
import { Keyword } from '../values/values.ts';
import type { Args } from './operations.ts';

/** Reads a request body, refusing past `bytesMax` without buffering the rest. */
export function readBody(request: IncomingMessage, bytesMax: number): Promise<Uint8Array> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > bytesMax) return Promise.reject(tooLarge(declared, bytesMax));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    request.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > bytesMax) {
        request.removeAllListeners('data');
        request.pause();
        reject(tooLarge(length, bytesMax));
        return;
      }
      chunks.push(chunk);
    });
    request.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    request.once('error', reject);
  });
}

function tooLarge(length: number, bytesMax: number): FactumError {
  return new FactumError('request/too-large', `The request body has ${length} bytes or more; this node takes at most ${bytesMax} (FACTUM_REQUEST_BYTES_MAX). Send smaller transactions or queries.`, { bytes: length, bytesMax });
}

function malformed(message: string): never {
  throw new FactumError('request/malformed', message, {});
}

/** The arguments of an operation: one message, or an EDN map with keyword keys. */
export function decodeArgs(body: Uint8Array, contentType: string | undefined): Args {
  let value: unknown;
  if (body.length === 0) value = {};
  else if ((contentType ?? '').startsWith(contentTypes.edn)) value = fromEdn(readEdn(new TextDecoder().decode(body)));
  else value = decode(body);
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Map) {
    malformed('A request body is one message holding an object of the operation\'s arguments.');
  }
  return value as Args;
}

/** An EDN argument map: its keyword keys become names, and so do those of the db values in it. */
function fromEdn(map: unknown): Record<string, unknown> {
  if (!(map instanceof Map)) malformed('An EDN request body is a map of the operation\'s arguments, e.g. {:database "shop"}.');
  const entries = [...(map as Map<unknown, unknown>)].map(([k, v]) => [k instanceof Keyword ? k.fqn : String(k), v] as [string, unknown]);
  // fromEntries defines own members: a key named __proto__ stays a member, never the prototype.
  const args = Object.fromEntries(entries.map(([name, v]) => [name, isDbMap(v) ? fromEdn(v) : v]));
  // Query args: only those at the positions :dbArgs names are db values.
  if (Array.isArray(args.args) && Array.isArray(args.dbArgs)) {
    const positions = new Set(args.dbArgs as unknown[]);
    args.args = (args.args as unknown[]).map((arg, i) => (positions.has(i) && isDbMap(arg) ? fromEdn(arg) : arg));
  }
  return args;
}

/** `{:database "shop" :basisT 12 ...}`: a db value reference written in EDN. */
function isDbMap(value: unknown): value is Map<unknown, unknown> {
  return value instanceof Map && value.has(Keyword.of('database')) && value.has(Keyword.of('basisT'));
}
