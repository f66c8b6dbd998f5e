//! The HTTP protocol between the remote client and a node: the operations, the shape of their
//! requests, and how errors and db values travel. Shared by client/remote and nodes/server.
//!
//!   POST /api/<operation>     body: one message (client/wire/codec.ts), the operation's arguments
//!   GET  /health              200 once the node is ready; not authenticated
//!
//! Every request but /health carries a signature (client/remote/signing.ts). A response is either
//! one message (`content-type: application/vnd.factum+msgpack`) or, for lazy results, a stream of
//! frames (`application/vnd.factum+frames`, client/wire/frames.ts), each a message
//! `{ items: [...] }`, ended by `{ end: true }` or `{ error }`. A request with
//! `accept: application/edn` gets the same answer as EDN text instead, for people with curl.
//!
//! A db value travels as a reference (`DbRef`), never as data: the database, its basis t and its
//! filters. A speculative db value (`with`) also carries `with`, a token the node made: the datoms
//! of its speculative transactions, sealed by the node so that they cannot be forged.
//!
//! Datoms travel flat, five array elements each (`e, a, v, tx, added`), to keep messages small.

/** A db value on the wire. */
export interface DbRef {
  readonly database: string;
  readonly basisT: number;
  readonly asOf?: number | Date;
  readonly since?: number | Date;
  readonly history?: boolean;
  /** Speculative transactions applied on top (sealed by the node). */
  readonly with?: string;
}

/** The operations a node serves, and the permission each needs. */
export const operations = {
  listDatabases: 'list',
  createDatabase: 'admin',
  deleteDatabase: 'admin',
  gcStorage: 'admin',
  ioStats: 'admin',
  connect: 'read',
  sync: 'read',
  transact: 'write',
  txRange: 'read',
  q: 'read',
  qseq: 'read',
  pull: 'read',
  pullMany: 'read',
  datoms: 'read',
  indexRange: 'read',
  indexPull: 'read',
  with: 'read',
  stats: 'read',
  entid: 'read',
  ident: 'read',
  // Between the nodes of a system (the production topology), with the admin key: a transaction
  // forwarded to its database's transactor, the log entries that transactor commits (a stream
  // that lasts while it leads), and gcStorage run where the index roots are written.
  internalTransact: 'node',
  internalFollow: 'node',
  internalGcStorage: 'node',
  // Ions (docs/ions.md): a revision is pushed once (immutable), deployed onto a compute group,
  // and its Lambda entry points invoked through the group.
  //   ionPush      { metadata: RevisionMetadata, archive: bytes }   -> { app, rev, created }
  //   ionRevisions { app? }                                         -> RevisionMetadata[]
  //   ionDeploy    { group, app, rev }                              -> { deployId }
  //   ionStatus    { group }                                        -> IonGroupStatus
  //   ionInvoke    { name, input: string }                          -> { output: string }
  // (RevisionMetadata and IonGroupStatus: nodes/ions/revision.ts.)
  ionPush: 'admin',
  ionRevisions: 'admin',
  ionDeploy: 'admin',
  ionStatus: 'admin',
  ionInvoke: 'list',
} as const;

export type Operation = keyof typeof operations;

export const contentTypes = {
  message: 'application/vnd.factum+msgpack',
  frames: 'application/vnd.factum+frames',
  edn: 'application/edn',
} as const;

/** Headers the node adds to answers about one database: its newest basis t on that node. */
export const basisHeader = 'x-factum-basis-t';

/** An error as it travels: the FactumError's fields. */
export interface WireError {
  readonly code: string;
  readonly category: string;
  readonly message: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** The HTTP status of each anomaly category (auth refusals other than `auth/not-permitted` are 401). */
export const statusOfCategory: Readonly<Record<string, number>> = {
  incorrect: 400,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  busy: 429,
  unavailable: 503,
  interrupted: 408,
  fault: 500,
};

export function httpStatusOf(error: WireError): number {
  if (error.code.startsWith('auth/') && error.code !== 'auth/not-permitted' && error.category === 'forbidden') return 401;
  if (error.code === 'request/too-large') return 413;
  return statusOfCategory[error.category] ?? 500;
}

type DatomLike = { readonly e: number; readonly a: number; readonly v: unknown; readonly tx: number; readonly added: boolean };

/** Appends one datom, flat, to `out`. */
export function pushDatom(d: DatomLike, out: unknown[]): void {
  out.push(d.e, d.a, d.v, d.tx, d.added);
}

/** Datoms flattened for the wire: `[e, a, v, tx, added, e, a, v, ...]`. */
export function flattenDatoms(datoms: Iterable<DatomLike>): unknown[] {
  const out: unknown[] = [];
  for (const d of datoms) pushDatom(d, out);
  return out;
}
