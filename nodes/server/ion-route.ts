//! Requests under `/ion/` of a node, answered by the HTTP handler of the ion revision the node
//! runs (Datomic Cloud's HTTP direct): the request as the handler sees it, and its answer written
//! back. The server (server.ts) authenticates and admits them like any other request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WireError } from '../../client/wire/protocol.ts';
import { fail } from '../util/errors.ts';
import type { IonHttpRequest, IonHttpResponse } from '../ions/revision.ts';

/** How the server reaches the running revision (nodes/ions/active-ions.ts). */
export interface IonHttpRoute {
  /**
   * The running revision's handler, taken once per request: whether its ion-config makes it public
   * (no signature asked) and the handler itself are the same revision's, even across a switch.
   */
  handler(): { readonly isPublic: boolean; handle(request: IonHttpRequest): Promise<IonHttpResponse> };
}

/** Headers a handler may not set: the server owns the connection and the body's framing. */
const RESERVED_HEADERS = new Set(['connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'trailer']);
/** Request headers the handler does not see: the caller's signature. */
const SIGNATURE_HEADER = /^(authorization|x-factum-)/i;

export function isIonPath(url: string | undefined): boolean {
  return url !== undefined && (url === '/ion' || url.startsWith('/ion/') || url.startsWith('/ion?'));
}

export function unavailableIons(): never {
  return fail('ion/unavailable', 'This node serves no ions, so nothing answers under /ion/.', {});
}

export function ionRequestOf(request: IncomingMessage, body: Uint8Array): IonHttpRequest {
  const url = request.url ?? '/ion';
  const question = url.indexOf('?');
  const path = (question === -1 ? url : url.slice(0, question)).slice('/ion'.length) || '/';
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || SIGNATURE_HEADER.test(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return { method: request.method ?? 'GET', path, query: question === -1 ? '' : url.slice(question + 1), headers, body };
}

/** Writes a handler's answer; an answer that is not one is the handler's error, said so. */
export function sendIonResponse(response: ServerResponse, answer: IonHttpResponse): void {
  const status = answer?.status;
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    fail('ion/call-failed', `The ion's http handler answered ${JSON.stringify(answer)?.slice(0, 200) ?? String(answer)}; it must answer { status (100-599), headers?, body? (string or bytes) }.`, {});
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(answer.headers ?? {})) {
    if (typeof value === 'string' && !RESERVED_HEADERS.has(name.toLowerCase())) headers[name.toLowerCase()] = value;
  }
  const body = answer.body === undefined ? Buffer.alloc(0) : typeof answer.body === 'string' ? Buffer.from(answer.body, 'utf8') : Buffer.from(answer.body.buffer, answer.body.byteOffset, answer.body.byteLength);
  if (typeof answer.body === 'string' && headers['content-type'] === undefined) headers['content-type'] = 'text/plain; charset=utf-8';
  response.writeHead(status, { ...headers, 'content-length': String(body.length) }).end(body);
}

export function sendIonError(response: ServerResponse, status: number, wire: WireError, headers: Readonly<Record<string, string>>): void {
  const body = JSON.stringify({ error: { code: wire.code, category: wire.category, message: wire.message } });
  response.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }).end(body);
}
