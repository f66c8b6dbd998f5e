// A node in a process of its own for the benchmarks, run from an esbuild bundle of nodes/main.ts
// as production runs it (not through tsx, like nodes/cli/child-node.ts, which would slow the node
// that is measured), written beside the bench's own bundle, where bench/run.ts put the worker
// threads' files. Local storage in `dir`, 127.0.0.1 on a free port.
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export interface NodeProcess {
  readonly endpoint: string;
  /** The admin key's file. */
  readonly keyFile: string;
  stop(): Promise<void>;
}

/** Starts the node (`bundleName`: the bundle's file name, one per bench); resolves once /health answers 200. */
export async function startNodeProcess(dir: string, bundleName: string): Promise<NodeProcess> {
  const bundleFile = path.join(path.dirname(fileURLToPath(import.meta.url)), bundleName);
  await build({ entryPoints: ['nodes/main.ts'], outfile: bundleFile, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'error' });
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const environment = { ...process.env, FACTUM_SYSTEM: 'local', FACTUM_ROLE: 'primary', FACTUM_STORAGE: 'local', FACTUM_DATA_DIR: dir, FACTUM_PORT: String(port), FACTUM_HOST: '127.0.0.1', FACTUM_LOG_LEVEL: 'warn' };
  const child = spawn(process.execPath, [bundleFile], { stdio: ['ignore', 'ignore', 'inherit'], env: environment });
  process.once('exit', () => child.kill('SIGKILL')); // never outlive a failed bench
  const endpoint = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    const status = await fetch(`${endpoint}/health`).then((response) => response.status, () => 0);
    if (status === 200) break;
    if (child.exitCode !== null || attempt > 600) throw new Error(`the node did not start (see its stderr above; data directory ${dir})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const keys = path.join(dir, 'access', 'admin');
  const keyFile = path.join(keys, (await readdir(keys)).find((name) => name.endsWith('.json'))!);
  return {
    endpoint,
    keyFile,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
