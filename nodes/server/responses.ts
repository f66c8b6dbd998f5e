//! Answers on the wire: one message, a stream of frames, or EDN text for people with curl; and
//! errors as the client raises them (client/wire/protocol.ts).
//!
//! A stream writes a frame only when the socket has taken the one before (backpressure), so a
//! slow reader slows the producer; a reader that goes away, or that takes nothing for
//! `STALL_MS`, ends the producer's work (`iterator.return()`), which frees the request's place.
import type { ServerResponse } from 'node:http';
import { decode, encodableFields, encode } from '../../client/wire/codec.ts';
import { encodeFrame } from '../../client/wire/frames.ts';
import { contentTypes, type WireError } from '../../client/wire/protocol.ts';
import { printEdn } from '../edn/printer.ts';
import { isFactumError } from '../util/errors.ts';
import { Keyword } from '../values/values.ts';
import type { Stream } from './operations.ts';

/** A stream whose reader takes nothing for this long is ended: it would hold its place forever. */
export const STALL_MS = 30_000;

export function toWireError(error: unknown): WireError {
  if (isFactumError(error)) return { code: error.code, category: error.category, message: error.message, data: encodableFields(error.data) };
  if (error instanceof RangeError && /call stack/.test(error.message)) {
    return { code: 'request/malformed', category: 'incorrect', message: 'The request nests values too deeply to process (tx-data, a query or a pull pattern); flatten it.', data: {} };
  }
  return { code: 'server/internal', category: 'fault', message: 'The node failed while answering (a bug, logged on the node with its stack). Retrying will likely fail the same way; report it.', data: {} };
}

/**
 * A wire message already encoded (a query thread encodes its answer: the main thread sends the
 * bytes as they are, and decodes them only for an EDN answer). As a chunk of a stream, the message
 * is `{ items }` and `items` counts them.
 */
export class EncodedMessage {
  constructor(
    readonly bytes: Uint8Array,
    readonly items = 0,
  ) {}
}

export function sendValue(response: ServerResponse, status: number, value: unknown, edn: boolean, headers: Record<string, string>): void {
  const encoded = value instanceof EncodedMessage;
  const body = edn ? Buffer.from(printEdn(toEdn(encoded ? decode(value.bytes) : value)) + '\n') : encoded ? value.bytes : encode(value);
  response.writeHead(status, { 'content-type': edn ? contentTypes.edn : contentTypes.message, 'content-length': String(body.length), ...headers });
  response.end(body);
}

/** The last frame of a stream that failed midway. */
export function endStreamWithError(response: ServerResponse, wire: WireError, edn: boolean): void {
  if (response.writableEnded || response.destroyed) return;
  response.end(edn ? `${printEdn(toEdn({ error: wire }))}]\n` : encodeFrame(encode({ error: wire })));
}

/** Plain objects become EDN maps with keyword keys for the printer; undefined is nil. */
function toEdn(value: unknown): unknown {
  if (value === undefined) return null;
  if (Array.isArray(value)) return value.map(toEdn);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return new Map(Object.entries(value).map(([k, v]) => [Keyword.of(k), toEdn(v)]));
  }
  return value;
}

/** A chunk of a stream as EDN text: its items, space-separated. */
function ednItems(chunk: readonly unknown[] | EncodedMessage): string {
  const items = chunk instanceof EncodedMessage ? (decode(chunk.bytes) as { items: readonly unknown[] }).items : chunk;
  return items.map((item) => printEdn(toEdn(item))).join(' ') + '\n';
}

/** Resolves once the socket has taken what was written (true), or the reader went away or stalled (false). */
function drained(response: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      response.off('drain', onDrain);
      response.off('close', onClose);
      resolve(ok);
    };
    const onDrain = (): void => done(true);
    const onClose = (): void => done(false);
    const timer = setTimeout(() => {
      response.destroy();
      done(false);
    }, STALL_MS);
    response.once('drain', onDrain);
    response.once('close', onClose);
  });
}

/**
 * Sends a stream's chunks as frames (or EDN), and stops the producer when the client goes away.
 * `gone` says whether the client has gone (the request's close, watched since it arrived).
 */
export async function sendStream(response: ServerResponse, stream: Stream, edn: boolean, headers: Record<string, string>, gone: () => boolean): Promise<{ items: number; complete: boolean }> {
  const iterator = stream.chunks[Symbol.asyncIterator]();
  let items = 0;
  let complete = false;
  try {
    // The first chunk before the headers: an error in it is still a plain error response.
    let next = await iterator.next();
    if (gone() || response.destroyed) return { items, complete };
    response.writeHead(200, { 'content-type': edn ? contentTypes.edn : contentTypes.frames, ...headers });
    if (edn) response.write('[');
    while (!next.done) {
      const chunk = next.value;
      items += chunk instanceof EncodedMessage ? chunk.items : chunk.length;
      const ok = response.write(edn ? ednItems(chunk) : encodeFrame(chunk instanceof EncodedMessage ? chunk.bytes : encode({ items: chunk })));
      if (gone() || response.destroyed) return { items, complete };
      if (!ok && !(await drained(response))) return { items, complete };
      next = await iterator.next();
    }
    response.end(edn ? ']\n' : encodeFrame(encode({ end: true })));
    complete = true;
    return { items, complete };
  } finally {
    // Stopped early (the client went away, or a chunk failed): end the producer's work.
    if (!complete) await iterator.return?.();
  }
}
