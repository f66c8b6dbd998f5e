// A load balancer for the miniature: an HTTP server on 127.0.0.1 that sends each request to the
// next live node in turn (round robin, request by request, as an ALB may), passing the request
// and the answer through unchanged — the signature covers the Host header, which is the
// balancer's, as on AWS.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoadBalancer {
  readonly endpoint: string;
  /** Requests sent to each backend so far, by endpoint. */
  readonly counts: Map<string, number>;
  close(): Promise<void>;
}

export async function startLoadBalancer(backends: () => readonly string[]): Promise<LoadBalancer> {
  let next = 0;
  const counts = new Map<string, number>();
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((request, response) => {
    const live = backends();
    if (live.length === 0) {
      response.writeHead(503).end();
      return;
    }
    const target = new URL(live[next++ % live.length]!);
    counts.set(target.origin, (counts.get(target.origin) ?? 0) + 1);
    const upstream = http.request({ hostname: target.hostname, port: target.port, path: request.url, method: request.method, headers: request.headers, agent }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    upstream.once('error', () => {
      if (!response.headersSent) response.writeHead(502);
      response.end();
    });
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts,
    close: async () => {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
