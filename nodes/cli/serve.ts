//! The local solo system: `factum serve` runs a node on 127.0.0.1 over a data directory, and
//! `factum start` (npm start) runs one as a child process and a REPL connected to it through the
//! remote client, exactly as a program on another machine would connect.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNodeSettings, startNode } from '../main.ts';

/** The system name of a local system. */
export const localSystem = 'local';

/** What `factum serve` prints first: where the node is and the admin key's file. */
export interface Announcement {
  readonly endpoint: string;
  readonly system: string;
  readonly keyFile: string | null;
}

function localEnvironment(dir: string, port: number): Record<string, string> {
  return {
    FACTUM_SYSTEM: localSystem,
    FACTUM_ROLE: 'primary',
    FACTUM_STORAGE: 'local',
    FACTUM_DATA_DIR: path.resolve(dir),
    FACTUM_PORT: String(port),
    FACTUM_HOST: '127.0.0.1',
  };
}

/** `factum serve`: this process becomes the node; the first line on stdout is the announcement. */
export async function serve(dir: string, port: number): Promise<void> {
  const aws = process.env.FACTUM_STORAGE === 'aws';
  const environment = aws ? { FACTUM_SYSTEM: localSystem, FACTUM_ROLE: 'primary', FACTUM_HOST: '127.0.0.1', FACTUM_PORT: String(port), ...process.env } : { ...process.env, ...localEnvironment(dir, port) };
  const settings = readNodeSettings(environment);
  // The log waits until the announcement is out: scripts read the first line.
  const output = new PassThrough();
  const node = await startNode(settings, output);
  const announcement: Announcement = { endpoint: node.endpoint, system: settings.system, keyFile: node.keyFile };
  process.stdout.write(JSON.stringify(announcement) + '\n');
  output.pipe(process.stdout);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      node.stop().then(resolve, resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    // Whoever read our output is gone (a closed pipe): nobody can learn the endpoint or read the log
    // any more, so the node stops as it does on SIGTERM.
    process.stdout.once('error', stop);
  });
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
