// The messages between an IonHost (host.ts) and its ion thread (ion-worker.ts). Values (arguments,
// answers, cast maps) travel as wire bytes (client/wire/codec.ts), so keywords, bigints, dates and
// uuids arrive as themselves; structured clone would turn them into plain objects.
import type { MessagePort } from 'node:worker_threads';
import type { IonConfig } from './revision.ts';

/** Where getParams() reads: SSM Parameter Store, or a local JSON file of full name → value. */
export type IonParamsSource = { readonly kind: 'ssm'; readonly region: string; readonly endpoint?: string } | { readonly kind: 'file'; readonly path: string };

/** The node getClient() and transaction functions' db values reach, and the key they use. */
export interface IonClientTarget {
  readonly endpoint: string;
  readonly system: string;
  readonly accessKey: { readonly keyId: string; readonly secret: string };
}

/** What the thread is started with (its workerData): nothing of the node but these. */
export interface IonWorkerData {
  /** The revision's bundle, written to a file by the host (host.ts says why a file). */
  readonly bundleFile: string;
  readonly config: IonConfig;
  readonly group: string;
  readonly env: Readonly<Record<string, unknown>>;
  readonly params: IonParamsSource;
  readonly client: IonClientTarget;
  /** Int32 cells shared with the host: `control.*` below. */
  readonly control: SharedArrayBuffer;
  /** The port synchronous calls arrive on and are answered on (never needs the host's event loop). */
  readonly syncPort: MessagePort;
}

/** Cells of the shared control array. */
export const control = {
  /** The current synchronous call: `syncState.*`. */
  sync: 0,
  /** The thread: `readyState.*`. */
  ready: 1,
  length: 2,
} as const;

export const syncState = { posted: 0, answered: 1 } as const;
export const readyState = { loading: 0, ready: 1, failed: 2 } as const;

/** The kinds of asynchronous call. */
export type AsyncCallKind = 'transaction' | 'http' | 'lambda';

export type ToIonWorker = { readonly kind: 'call'; readonly id: number; readonly call: AsyncCallKind; readonly name: string; readonly payload: Uint8Array };

export interface SyncCall {
  readonly id: number;
  readonly name: string;
  readonly args: Uint8Array;
}

/** What an ion threw, as the host reports it. */
export interface ThrownByIon {
  readonly message: string;
  /** A FactumError's code (e.g. from a client call the ion made). */
  readonly code?: string;
  /** The thread refused the call or its answer (the ion itself threw nothing): the message says why. */
  readonly byThread?: boolean;
}

export type Answer = { readonly id: number; readonly ok: true; readonly value: Uint8Array } | { readonly id: number; readonly ok: false; readonly error: ThrownByIon };

export type FromIonWorker =
  | { readonly kind: 'loaded'; readonly problems: readonly string[] }
  | ({ readonly kind: 'answer' } & Answer)
  | { readonly kind: 'cast'; readonly cast: 'event' | 'alert' | 'metric'; readonly data: Uint8Array };

/** A copy of `bytes` in a buffer of its own, to transfer (encode answers views of a larger buffer). */
export function ownBytes(bytes: Uint8Array): Uint8Array {
  return bytes.slice();
}
