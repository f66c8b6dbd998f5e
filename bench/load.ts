//! A closed-loop load generator for the server benchmarks: `concurrency` callers, each awaiting its
//! call and then making the next, for a fixed time; every call's latency is kept for percentiles.
//! A closed loop (not a fixed arrival rate) measures throughput at a given number in flight, which
//! is what a client with a connection pool of that size sees.
//!
//! Also here: the peer every server figure is set beside — a bare `node:http` server in its own
//! process that answers every request with the same fixed bytes — and a caller for it that speaks
//! through the same kind of keep-alive agent as the remote client (client/remote/transport.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createInterface } from 'node:readline';

export interface LoadResult {
  readonly calls: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Every call's latency, ascending. */
  readonly latenciesMs: readonly number[];
  /** CPU time per call of this process (the load generator, and the engine when in-process), µs. */
  readonly clientCpuUs: number;
  /** CPU time per call of the server's process (all its threads), µs; NaN when there is none. */
  readonly serverCpuUs: number;
}

export interface LoadOptions {
  /** Calls in flight at once. */
  readonly concurrency: number;
  readonly durationMs: number;
  /** Calls made first and not measured (JIT, connection pool, caches). @default - durationMs / 5 */
  readonly warmUpMs?: number;
  /** The server's process, whose CPU time is measured too. @default - none */
  readonly serverPid?: number;
}

/** Runs `call` from `concurrency` loops for `durationMs` (after a warm-up) and measures it. */
export async function runLoad(call: () => Promise<unknown>, options: LoadOptions): Promise<LoadResult> {
  await loop(call, options.concurrency, options.warmUpMs ?? options.durationMs / 5, null);
  const latencies: number[] = [];
  const started = performance.now();
  const clientCpu = process.cpuUsage();
  const serverCpuMs = processCpuMs(options.serverPid);
  const calls = await loop(call, options.concurrency, options.durationMs, latencies);
  const seconds = (performance.now() - started) / 1000;
  const clientUsage = process.cpuUsage(clientCpu);
  const cpu = { client: (clientUsage.user + clientUsage.system) / 1000, server: processCpuMs(options.serverPid) - serverCpuMs };
  return result(calls, seconds, latencies, cpu);
}

/**
 * CPU time a process has used, in ms, from /proc (Linux; NaN elsewhere). Its resolution is a clock
 * tick (10 ms at the usual 100 Hz): runs of a second or more make it a small error.
 */
export function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command name (which may hold spaces), from field 3 (state) on.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicksPerSecond;
  } catch {
    return NaN;
  }
}

/** USER_HZ: 100 on every Linux that Node runs on in practice. */
const clockTicksPerSecond = 100;

/** Several runs of one call as one: on a noisy machine, sides measured in turns share the noise. */
export function combine(results: readonly LoadResult[]): LoadResult {
  const sum = (of: (r: LoadResult) => number): number => results.reduce((total, r) => total + of(r), 0);
  return result(sum((r) => r.calls), sum((r) => r.seconds), results.flatMap((r) => r.latenciesMs), { client: sum((r) => (r.clientCpuUs * r.calls) / 1000), server: sum((r) => (r.serverCpuUs * r.calls) / 1000) });
}

/** One side of a comparison: its call, and the process serving it, if another. */
export interface Turn {
  readonly call: () => Promise<unknown>;
  readonly serverPid?: number;
}

/**
 * Runs each of `calls` for `durationMs` in all, in `rounds` turns of `durationMs / rounds` each
 * (a, b, c, a, b, c, ...), so that a slow spell of the machine falls on every side alike.
 */
export async function runInTurns(calls: Readonly<Record<string, Turn>>, rounds: number, options: LoadOptions): Promise<Record<string, LoadResult>> {
  const runs: Record<string, LoadResult[]> = {};
  const slice = { ...options, durationMs: options.durationMs / rounds, warmUpMs: options.warmUpMs ?? options.durationMs / rounds / 5 };
  for (let round = 0; round < rounds; round++) {
    for (const [name, turn] of Object.entries(calls)) {
      (runs[name] ??= []).push(await runLoad(turn.call, { ...slice, ...(turn.serverPid === undefined ? {} : { serverPid: turn.serverPid }) }));
    }
  }
  return Object.fromEntries(Object.entries(runs).map(([name, results]) => [name, combine(results)]));
}

function result(calls: number, seconds: number, latencies: number[], cpuMs: { client: number; server: number }): LoadResult {
  latencies.sort((a, b) => a - b);
  return { calls, seconds, perSecond: calls / seconds, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), latenciesMs: latencies, clientCpuUs: (cpuMs.client * 1000) / calls, serverCpuUs: (cpuMs.server * 1000) / calls };
}

async function loop(call: () => Promise<unknown>, concurrency: number, durationMs: number, latencies: number[] | null): Promise<number> {
  const deadline = performance.now() + durationMs;
  let calls = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let now = performance.now(); now < deadline; ) {
        await call();
        const end = performance.now();
        latencies?.push(end - now);
        calls++;
        now = end;
      }
    }),
  );
  return calls;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** The keep-alive agent the remote client's transport makes (client/remote/transport.ts). */
export function clientAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: 64 });
}

export interface BareServer {
  readonly endpoint: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

// The bare server: reads the whole request body (as the node does), then answers `body`. The same
// keep-alive timeout as the node's server (nodes/server/server.ts).
const bareServerSource = `
import { createServer } from 'node:http';
const body = Buffer.from(process.argv[1], 'base64');
const contentType = process.argv[2];
const server = createServer({ keepAliveTimeout: 65000, requestTimeout: 300000 }, (request, response) => {
  request.on('data', () => {});
  request.on('end', () => {
    response.writeHead(200, { 'content-type': contentType, 'content-length': String(body.length) });
    response.end(body);
  });
});
server.listen(0, '127.0.0.1', () => console.log('http://127.0.0.1:' + server.address().port));
process.once('SIGTERM', () => server.close(() => process.exit(0)) && server.closeAllConnections());
`;

/** Starts a bare HTTP server in its own process, answering every request with `body`. */
export async function startBareServer(body: Uint8Array, contentType: string): Promise<BareServer> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', bareServerSource, Buffer.from(body).toString('base64'), contentType], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the bare server exited (status ${code}) before it listened`)));
    lines.once('line', resolve);
  });
  return {
    endpoint,
    process: child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** What a caller of the bare server does per request besides HTTP (none: the raw limit). */
export interface RequestWork {
  /** The body to send and the headers to add for it (e.g. encode the arguments and sign them). */
  prepare(path: string, host: string): { readonly body: Uint8Array; readonly headers: Record<string, string> };
  /** Done with the answer's bytes (e.g. decode them). */
  finish(bytes: Uint8Array): unknown;
}

/** One POST to `endpoint` + `path` through `agent`, resolving with the answer's bytes. */
export function bareCaller(endpoint: string, path: string, agent: http.Agent, work: RequestWork): () => Promise<unknown> {
  const url = new URL(endpoint);
  return () =>
    new Promise((resolve, reject) => {
      const { body, headers } = work.prepare(path, url.host);
      const request = http.request({ hostname: url.hostname, port: url.port, path, method: 'POST', headers: { ...headers, 'content-length': String(body.length) }, agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('end', () => {
          if (response.statusCode !== 200) reject(new Error(`the bare server answered ${response.statusCode}`));
          else resolve(work.finish(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
        });
        response.once('error', reject);
      });
      request.once('error', reject);
      request.end(body);
    });
}
