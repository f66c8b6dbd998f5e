//! The local solo system: `factum serve` runs a node on 127.0.0.1 over a data directory, and
//! `factum start` (npm start) runs one as a child process and a REPL connected to it through the
//! remote client, exactly as a program on another machine would connect.
import { PassThrough } from 'node:stream';
import path from 'node:path';
import { readNodeSettings, startNode } from '../main.ts';
import type { Announcement } from './child-node.ts';

export { startChildNode, type Announcement, type ChildNode } from './child-node.ts';

/** The system name of a local system. */
export const localSystem = 'local';

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

