//! A proxy in front of one storage endpoint of the emulator (DynamoDB or S3), through which the
//! nodes of a chaos run reach it, and which the nemesis turns slow or failing for a while:
//!
//!   node --HTTP--> proxy --HTTP--> emulator
//!                    healthy   pass the request and the answer through unchanged
//!                    slow      hold each request `delayMs` before passing it on
//!                    failing   per request, with probability `rate`: half the time answer 500
//!                              without passing it on (nothing happened), half the time pass it
//!                              on and cut the connection instead of answering (it happened, and
//!                              the node cannot know: a conditional write's outcome is lost)
//!
//! Requests and answers go through byte for byte, headers included: the SDK's signature covers
//! the Host header, which names the proxy, as the node sent it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type StorageMode = { readonly kind: 'healthy' } | { readonly kind: 'slow'; readonly delayMs: number } | { readonly kind: 'failing'; readonly rate: number };

export interface StorageProxy {
  readonly endpoint: string;
  readonly protocol: 'dynamodb' | 's3';
  mode: StorageMode;
  /** Requests passed on, held, refused with 500, and passed on with the answer cut. */
  readonly counts: { passed: number; held: number; refused: number; cut: number };
  close(): Promise<void>;
}

/** The error bodies the SDKs parse: DynamoDB's JSON protocol and S3's XML. */
const refusal = {
  dynamodb: { type: 'application/x-amz-json-1.0', body: JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'Injected by the chaos storage proxy.' }) },
  s3: { type: 'application/xml', body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>Injected by the chaos storage proxy.</Message></Error>' },
};

export async function startStorageProxy(target: string, protocol: 'dynamodb' | 's3', random: () => number): Promise<StorageProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const counts = { passed: 0, held: 0, refused: 0, cut: 0 };
  const proxy: { mode: StorageMode } = { mode: { kind: 'healthy' } };

  const pass = (request: http.IncomingMessage, response: http.ServerResponse, cut: boolean) => {
    const forwarded = http.request({ hostname: upstream.hostname, port: upstream.port, path: request.url, method: request.method, headers: request.headers, agent }, (answer) => {
      if (cut) {
        answer.resume();
        answer.once('end', () => response.socket?.destroy());
        return;
      }
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    forwarded.once('error', () => response.socket?.destroy());
    request.pipe(forwarded);
  };

  const server = http.createServer((request, response) => {
    const mode = proxy.mode;
    if (mode.kind === 'slow') {
      counts.held += 1;
      request.pause();
      setTimeout(() => pass(request, response, false), mode.delayMs);
      return;
    }
    if (mode.kind === 'failing' && random() < mode.rate) {
      if (random() < 0.5) {
        counts.refused += 1;
        request.resume();
        request.once('end', () => response.writeHead(500, { 'content-type': refusal[protocol].type }).end(refusal[protocol].body));
        return;
      }
      counts.cut += 1;
      pass(request, response, true);
      return;
    }
    counts.passed += 1;
    pass(request, response, false);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    protocol,
    get mode() {
      return proxy.mode;
    },
    set mode(mode: StorageMode) {
      proxy.mode = mode;
    },
    counts,
    close: async () => {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
