// Starts a worker thread whose entry is TypeScript source (tests, the CLI under tsx): registers
// tsx's loader in this thread, then imports `workerData.entry`. Bundled builds start the bundled
// worker (index-worker.mjs) directly and do not use this file.
import { workerData } from 'node:worker_threads';

const { register } = await import('tsx/esm/api');
register();
await import(workerData.entry);
