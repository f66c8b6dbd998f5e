//! Starting a node as a child process (`factum serve` in another process): for `factum start`,
//! the tests and the benchmarks. Apart from serve.ts so that a program bundling it (a benchmark)
//! does not bundle the node's entry point, which would start a node in that program.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What `factum serve` prints first: where the node is and the admin key's file. */
export interface Announcement {
  readonly endpoint: string;
  readonly system: string;
  readonly keyFile: string | null;
}

/** A node started as a child process of this one (`factum start`, tests). */
export interface ChildNode {
  readonly announcement: Announcement;
  readonly process: ChildProcess;
  /** SIGTERM, then waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts `factum serve` as a child process; its log goes to `logFile`. `environment` adds to this
 * process's (FACTUM_STORAGE=aws and the AWS settings run it on AWS storage instead of `dir`).
 */
export async function startChildNode(dir: string, logFile: string, port = 0, environment: Readonly<Record<string, string>> = {}): Promise<ChildNode> {
  // Beside this file; from the project's root when this runs bundled (bench/run.ts).
  const beside = fileURLToPath(new URL('./main.ts', import.meta.url));
  const main = existsSync(beside) ? beside : path.resolve('nodes/cli/main.ts');
  mkdirSync(path.dirname(path.resolve(logFile)), { recursive: true });
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'serve', '--dir', dir, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...environment } });
  child.stderr!.pipe(log);
  const lines = createInterface({ input: child.stdout! });
  const announcement = await new Promise<Announcement>((resolve, reject) => {
    const exited = (code: number | null): void => reject(new Error(`the node exited (status ${code}) before it was ready; see ${logFile}`));
    child.once('exit', exited);
    lines.once('line', (line) => {
      child.off('exit', exited);
      try {
        resolve(JSON.parse(line) as Announcement);
      } catch {
        reject(new Error(`the node printed ${JSON.stringify(line.slice(0, 200))} instead of its endpoint; see ${logFile}`));
      }
    });
  });
  lines.on('line', (line) => log.write(line + '\n'));
  return {
    announcement,
    process: child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        log.end();
        return;
      }
      // 'close', not 'exit': the child's last lines may still be in its stdout pipe at exit.
      const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
      child.kill('SIGTERM');
      await closed;
      log.end();
    },
  };
}
