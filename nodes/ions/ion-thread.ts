//! One ion thread of an IonHost (host.ts): a worker_threads Worker running ion-worker.ts on one
//! revision's bundle, the calls in flight on it, and how it ends. The host replaces a thread that
//! ran past a time limit or died with a fresh one from the same bundle; each thread has its own
//! control cells and synchronous port, so nothing a terminated thread still writes is ever read.
//!
//!   spawn ─▶ loading ─▶ ready ─▶ (calls) ─▶ retired by the host (terminate)
//!                  └─▶ failed to load        └─▶ died (out of memory, process.exit, a fatal error)
//!
//! Synchronous calls (callSync): the caller posts on the thread's own port and blocks in
//! Atomics.wait on the `sync` control cell; the thread answers on that port and then sets the
//! cell, so `receiveMessageOnPort` finds the answer at once. Asynchronous calls are messages on
//! the worker's parent port, answered by id, and start their clock when the thread is ready.
//!
//! The thread's stdout and stderr are forwarded line by line to the node's log as cast events
//! (`{ msg: 'ion output', app, stream, line }`, a line cut at 4 KiB, at most 200 lines a second:
//! the rest are counted in the next event's `droppedBefore`): ion authors debug with console.log,
//! and an operator finds the output beside the ion's other events.
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { decode } from '../../client/wire/codec.ts';
import { assert } from '../util/assert.ts';
import { FactumError } from '../util/errors.ts';
import { control, readyState, syncState, type Answer, type AsyncCallKind, type FromIonWorker, type IonWorkerData, type ThrownByIon } from './ion-messages.ts';
import type { IonHostOptions } from './host.ts';

const LINE_MAX = 4096;
const LINES_PER_SECOND = 200;

/** Where the thread's entry is: the TypeScript source in development (through tsx), the bundled file beside this one in a build. */
function workerEntry(): { readonly file: URL; readonly entry?: string } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) return { file: new URL('../indexer/ts-worker.mjs', here), entry: new URL('./ion-worker.ts', here).href };
  return { file: new URL('./ion-worker.mjs', here) };
}

/**
 * What the thread sees of process.env: only the AWS SDK's own settings (region, credentials of
 * the node's role, endpoints), so that getParams and AWS calls in ion code work as on the node,
 * and nothing else of the node's environment.
 */
function workerEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && (name.startsWith('AWS_') || name === 'TZ')) env[name] = value;
  return env;
}

/** A call in flight, as the host sees it when a thread ends. */
export interface InFlightCall {
  readonly id: number;
  readonly name: string;
}

interface Pending extends InFlightCall {
  readonly resolve: (value: Uint8Array) => void;
  readonly reject: (error: Error) => void;
  timer: NodeJS.Timeout | null;
}

export interface IonThreadEvents {
  /** The thread died by itself (not retired): every call in flight has been failed already. */
  readonly died: (thread: IonThread, cause: string) => void;
  /** A call ran past its limit (the thread is still running it). */
  readonly timedOut: (thread: IonThread, call: InFlightCall, limitMs: number) => void;
}

export class IonThread {
  readonly cells: Int32Array;
  /** Resolves once the revision loaded with every name resolved; rejects with `ion/load-failed`. */
  readonly loaded: Promise<void>;
  private readonly worker: Worker;
  private readonly syncPort: MessagePort;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private retired = false;
  /** Why the thread died (its error event comes before its exit). */
  private fatal: string | null = null;
  private ready = false;
  /** Why the thread could not load its revision, once it could not. */
  private loadError: FactumError | null = null;
  /** When the thread was started (performance.now()). */
  readonly startedAtMs = performance.now();

  constructor(
    private readonly options: IonHostOptions,
    bundleFile: string,
    private readonly events: IonThreadEvents,
  ) {
    const shared = new SharedArrayBuffer(control.length * Int32Array.BYTES_PER_ELEMENT);
    this.cells = new Int32Array(shared);
    const { port1, port2 } = new MessageChannel();
    this.syncPort = port1;
    const data: IonWorkerData = {
      bundleFile,
      config: options.config,
      group: options.group,
      env: options.env,
      params: options.params,
      client: options.client,
      control: shared,
      syncPort: port2,
    };
    const entry = workerEntry();
    this.worker = new Worker(entry.file, {
      workerData: entry.entry === undefined ? data : { ...data, entry: entry.entry },
      transferList: [port2 as unknown as ArrayBuffer],
      env: workerEnvironment(),
      stdout: true,
      stderr: true,
      name: `ion ${options.config.appName}`,
      resourceLimits: { maxOldGenerationSizeMb: options.memoryMb },
    });
    this.worker.unref();
    this.forwardOutput('stdout', this.worker.stdout);
    this.forwardOutput('stderr', this.worker.stderr);
    this.loaded = this.watchLoad();
    this.loaded.catch(() => undefined); // the host awaits it; a thread replaced meanwhile has nobody waiting
    this.worker.on('message', (message: FromIonWorker) => this.received(message));
    this.worker.on('error', (error) => (this.fatal ??= describeFatal(error, options.memoryMb)));
    this.worker.on('exit', (code) => this.exited(code));
  }

  get app(): string {
    return this.options.config.appName;
  }

  /** Why the thread could not load the revision (a replacement thread whose import failed), or null: the host starts another. */
  get failure(): FactumError | null {
    return this.loadError;
  }

  /** Posts an asynchronous call; the answer's bytes, or `ion/call-failed`. Its clock starts when the thread is ready. */
  call(kind: AsyncCallKind, name: string, payload: Uint8Array, limitMs: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const id = ++this.nextId;
      const pending: Pending = { id, name, resolve, reject, timer: null };
      this.pending.set(id, pending);
      this.loaded.then(
        () => {
          if (this.pending.get(id) === pending) pending.timer = setTimeout(() => this.events.timedOut(this, pending, limitMs), limitMs);
        },
        (error: FactumError) => {
          if (this.pending.get(id) !== pending) return;
          this.settle(id, pending);
          reject(notStarted(this.app, error));
        },
      );
      this.worker.postMessage({ kind: 'call', id, call: kind, name, payload }, [payload.buffer as ArrayBuffer]);
    });
  }

  /**
   * Runs a synchronous call, blocking this thread up to `limitMs` for the ion's answer (and before
   * that up to `startMs` for a thread still starting). 'not-ready' or 'timed-out' tell the host
   * what went wrong; the host decides what to do with the thread.
   */
  callSync(name: string, args: Uint8Array, limitMs: number, startMs: number): Answer | 'not-ready' | 'failed' | 'timed-out' {
    if (!waitWhile(this.cells, control.ready, readyState.loading, startMs)) return 'not-ready';
    if (Atomics.load(this.cells, control.ready) === readyState.failed || this.retired) return 'failed';
    const id = ++this.nextId;
    Atomics.store(this.cells, control.sync, syncState.posted);
    this.syncPort.postMessage({ id, name, args }, [args.buffer as ArrayBuffer]);
    if (!waitWhile(this.cells, control.sync, syncState.posted, limitMs)) return 'timed-out';
    const received = receiveMessageOnPort(this.syncPort);
    // The thread posts its answer before it sets the cell, so the answer is there.
    assert(received !== undefined, `ion thread of ${this.app}: the sync cell was set without an answer on the port`);
    const answer = received.message as Answer;
    assert(answer.id === id, `ion thread of ${this.app}: sync answer ${answer.id} for call ${id}`);
    return answer;
  }

  /** Fails every call in flight with `errorOf(call)` and terminates the thread. */
  async retire(errorOf: (call: InFlightCall) => FactumError): Promise<void> {
    this.retired = true;
    this.failAll(errorOf);
    this.syncPort.close();
    await this.worker.terminate();
  }

  private watchLoad(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(this.loadFailed([`it did not finish loading within ${this.loadLimitMs} ms (a module that waits at its top level?)`])), this.loadLimitMs);
      const settle = (message: FromIonWorker): void => {
        if (message.kind !== 'loaded') return;
        clearTimeout(timer);
        this.worker.off('message', settle);
        this.worker.off('exit', diedLoading);
        if (message.problems.length === 0) {
          this.ready = true;
          resolve();
        } else {
          reject(this.loadFailed(message.problems));
        }
      };
      const diedLoading = (code: number): void => {
        clearTimeout(timer);
        // Node ends a thread with 13 when its top-level await can never settle (nothing left to wait for).
        const cause = this.fatal ?? (code === 13 ? 'the module waits at its top level for something that never happens (exit code 13)' : `exit code ${code}`);
        reject(this.loadFailed([`its thread died while loading: ${cause}`]));
      };
      this.worker.on('message', settle);
      this.worker.on('exit', diedLoading);
    }).catch((error: FactumError) => {
      this.loadError = error;
      this.failAll(() => notStarted(this.app, error));
      if (!this.retired) {
        this.retired = true;
        void this.worker.terminate();
      }
      throw error;
    });
  }

  private get loadLimitMs(): number {
    return this.options.loadTimeoutMs ?? 60_000;
  }

  private loadFailed(problems: readonly string[]): FactumError {
    const list = problems.map((problem, i) => `${i + 1}) ${problem}`).join('; ');
    return new FactumError('ion/load-failed', `The revision of ion application ${this.app} failed to load: ${list}. Fix the module or its ion-config.json and push a new revision.`, { app: this.app, problems: [...problems] });
  }

  private received(message: FromIonWorker): void {
    if (message.kind === 'cast') {
      this.options.onCast(message.cast, decode(message.data) as Record<string, unknown>);
      return;
    }
    if (message.kind !== 'answer') return; // 'loaded' is watchLoad's
    const pending = this.pending.get(message.id);
    if (pending === undefined) return; // failed already (timed out, or the thread was retired)
    this.settle(message.id, pending);
    if (message.ok) pending.resolve(message.value);
    else pending.reject(callFailed(this.app, pending.name, message.error));
  }

  private settle(id: number, pending: Pending): void {
    this.pending.delete(id);
    if (pending.timer !== null) clearTimeout(pending.timer);
  }

  private failAll(errorOf: (call: InFlightCall) => FactumError): void {
    for (const [id, pending] of [...this.pending]) {
      this.settle(id, pending);
      pending.reject(errorOf(pending));
    }
  }

  private exited(code: number): void {
    if (this.retired) return;
    this.retired = true;
    this.syncPort.close();
    const cause = this.fatal ?? (code === 1 ? 'its thread stopped with exit code 1' : `it called process.exit(${code})`);
    this.failAll(({ name }) => new FactumError('ion/crashed', `The ion thread of ${this.app} died while running ${this.app}/${name}: ${cause}. It is being restarted; retry the call.`, { app: this.app, name: `${this.app}/${name}`, cause }));
    if (this.ready) this.events.died(this, cause);
  }

  private forwardOutput(stream: 'stdout' | 'stderr', readable: Readable): void {
    const lines = createInterface({ input: readable, crlfDelay: Infinity });
    // An ion printing in a loop must not flood the node's log: past LINES_PER_SECOND lines in a
    // second, lines are counted instead, and the count is logged with the next line that passes.
    let windowStartMs = 0;
    let passed = 0;
    let dropped = 0;
    lines.on('line', (line) => {
      const now = Date.now();
      if (now - windowStartMs >= 1000) {
        windowStartMs = now;
        passed = 0;
      }
      if (passed >= LINES_PER_SECOND) {
        dropped++;
        return;
      }
      passed++;
      const text = line.length > LINE_MAX ? `${line.slice(0, LINE_MAX)}…` : line;
      this.options.onCast('event', { msg: 'ion output', app: this.app, stream, line: text, ...(dropped === 0 ? {} : { droppedBefore: dropped }) });
      dropped = 0;
    });
    void once(readable, 'close').then(() => lines.close());
  }
}

/**
 * Blocks while `cells[index]` holds `value`, up to `limitMs`; false when the time ran out. A wake-up
 * alone proves nothing: the thread notifies after it stores, so the notify of the previous call
 * can arrive while the caller already waits for the next one. The cell's value decides.
 */
export function waitWhile(cells: Int32Array, index: number, value: number, limitMs: number): boolean {
  const deadline = performance.now() + limitMs;
  while (Atomics.load(cells, index) === value) {
    const remainingMs = deadline - performance.now();
    if (remainingMs <= 0) return false;
    Atomics.wait(cells, index, value, remainingMs);
  }
  return true;
}

/** The error of a call made to a thread that could not load its revision. */
export function notStarted(app: string, error: FactumError): FactumError {
  const problems = (error.data.problems as string[] | undefined) ?? [error.message];
  return new FactumError('ion/crashed', `The ion thread of ${app} could not be restarted from its revision (${problems.join('; ')}), so the call was not run; retry it in a moment (the node tries another thread at most once a second).`, { app, problems });
}

/** The error of a call whose ion threw. */
export function callFailed(app: string, name: string, error: ThrownByIon): FactumError {
  const message = error.byThread === true ? `The call of ion ${app}/${name} failed: ${error.message}` : `The ion ${app}/${name} threw: ${error.message}`;
  return new FactumError('ion/call-failed', message, { app, name: `${app}/${name}`, error: error.message, ...(error.code === undefined ? {} : { errorCode: error.code }) });
}

function describeFatal(error: Error, memoryMb: number): string {
  if ((error as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY') return `it ran out of memory (the limit is ${memoryMb} MB); use less memory in the ion, or raise the node's ion memory limit`;
  return `a fatal error: ${error.message}`;
}
