//! What a bundle's entry module exports, by loading it: in a worker thread of its own (its top
//! level runs there, isolated from the push), with a time and memory limit, from a temporary file.
//! Push uses it to tell "not a function" from "unknown export" before anything is uploaded.
//!
//! Loading can fail where a node would succeed (the module's top level calls `factum/ion`, which
//! only an ion thread provides), so a failure is a value the caller reports, not an error.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

export type LoadedExports =
  | { readonly loaded: true; /** export name → its `typeof` */ readonly types: Readonly<Record<string, string>> }
  | { readonly loaded: false; readonly reason: string };

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.url).then(
  (module) => parentPort.postMessage({ types: Object.fromEntries(Object.keys(module).map((name) => [name, typeof module[name]])) }),
  (error) => parentPort.postMessage({ error: String(error && error.stack || error) }),
);`;

/** Loads the bundle in a worker thread and answers the type of each export, or why it could not load. */
export async function loadExports(bundle: string, options: { readonly timeoutMs?: number; readonly memoryMb?: number } = {}): Promise<LoadedExports> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'factum-ion-load-'));
  const file = path.join(directory, 'ions.mjs');
  writeFileSync(file, bundle);
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: { url: pathToFileURL(file).href },
    resourceLimits: { maxOldGenerationSizeMb: options.memoryMb ?? 512 },
    // The module's own output at load is not the push's.
    stdout: true,
    stderr: true,
  });
  const timeoutMs = options.timeoutMs ?? 10_000;
  try {
    return await new Promise<LoadedExports>((resolve) => {
      const timer = setTimeout(() => resolve({ loaded: false, reason: `loading took longer than ${timeoutMs} ms` }), timeoutMs);
      worker.once('message', (message: { types?: Record<string, string>; error?: string }) => {
        clearTimeout(timer);
        resolve(message.types !== undefined ? { loaded: true, types: message.types } : { loaded: false, reason: message.error ?? 'unknown' });
      });
      worker.once('error', (error) => {
        clearTimeout(timer);
        resolve({ loaded: false, reason: error.message });
      });
      worker.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ loaded: false, reason: `the thread exited (code ${code})` });
      });
    });
  } finally {
    await worker.terminate();
    rmSync(directory, { recursive: true, force: true });
  }
}
