//! User and operating errors: one class, a stable namespaced code, an anomaly category, the
//! offending values, and a message that says what was wrong and what was expected.
//!
//! Every code lives in `codes` below. A code is never renamed or reused: clients match on it.
//! Bugs are not errors of this kind; they are assertions (see assert.ts).

/** Datomic's anomaly categories. */
export type Category =
  | 'incorrect'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'busy'
  | 'unavailable'
  | 'interrupted'
  | 'fault';

/** Every error code factum can raise, with its category. Add new codes; never rename or remove one. */
export const codes = {
  // EDN text
  'edn/syntax': 'incorrect',
  'edn/unsupported': 'incorrect',
  // values and schema
  'value/wrong-type': 'incorrect',
  'value/too-large': 'incorrect',
  'schema/invalid-attribute': 'incorrect',
  'schema/unknown-attribute': 'incorrect',
  'schema/illegal-change': 'incorrect',
  'schema/unknown-ident': 'incorrect', // Datomic: :db.error/not-an-entity, category incorrect (was not-found)
  // transactions
  'transact/malformed': 'incorrect',
  'transact/unknown-operation': 'incorrect',
  'transact/invalid-entity-id': 'incorrect',
  'transact/invalid-lookup-ref': 'incorrect', // as schema/unknown-ident
  'transact/unresolved-tempid': 'incorrect',
  'transact/cardinality-conflict': 'conflict',
  'transact/datom-conflict': 'conflict',
  'transact/unique-conflict': 'conflict',
  'transact/upsert-conflict': 'conflict',
  'transact/cas-failed': 'conflict',
  'transact/predicate-failed': 'incorrect',
  'transact/entity-spec-failed': 'incorrect',
  'transact/tx-instant-in-past': 'incorrect',
  'transact/tx-instant-not-current': 'incorrect',
  'transact/tx-instant-in-future': 'incorrect',
  'transact/unreachable-entity': 'incorrect',
  'transact/function-failed': 'incorrect',
  'transact/unknown-function': 'incorrect',
  // time and the log
  'db/invalid-t': 'incorrect',
  'db/invalid-index': 'incorrect',
  // databases and connections
  'catalog/database-not-found': 'not-found',
  'catalog/database-exists': 'conflict',
  'catalog/invalid-name': 'incorrect',
  'client/invalid-config': 'incorrect',
  'client/closed': 'unavailable',
  // storage
  'storage/locked': 'conflict',
  'storage/corrupt': 'fault',
  'storage/conflict': 'conflict',
  'storage/io': 'unavailable',
  'storage/busy': 'busy',
  'storage/unavailable': 'unavailable',
  'storage/invalid-position': 'incorrect',
  'storage/invalid-key': 'incorrect',
  // AWS storage and KMS envelopes (issue 5)
  'storage/record-too-large': 'incorrect',
  'secret/malformed': 'incorrect',
  'secret/decrypt-failed': 'forbidden',
  // query and pull (issue 3 adds its codes here)
  'query/syntax': 'incorrect',
  'query/timeout': 'interrupted',
  'query/unbound-variable': 'incorrect',
  'query/insufficient-binding': 'incorrect',
  'query/unknown-function': 'incorrect',
  'query/unknown-aggregate': 'incorrect',
  'query/unknown-rule': 'incorrect',
  'query/unknown-source': 'incorrect',
  'query/unknown-attribute': 'incorrect',
  'query/wrong-arity': 'incorrect',
  'query/invalid-input': 'incorrect',
  'query/invalid-or': 'incorrect',
  'query/function-failed': 'incorrect',
  'pull/syntax': 'incorrect',
  // pull (nodes/pull)
  'pull/invalid-option': 'incorrect',
  'pull/invalid-recursion': 'incorrect',
  'pull/invalid-xform': 'incorrect',
  'pull/xform-failed': 'incorrect',
  'pull/unknown-attribute': 'incorrect',
  'pull/not-a-ref': 'incorrect',
  'pull/invalid-entity': 'incorrect',
  'pull/entity-not-found': 'not-found',
  'pull/history-db': 'incorrect',
  'pull/invalid-index-pull': 'incorrect',
  // durable indexes: segments, cache stack, indexer (issue 4)
  'storage/segment-not-found': 'fault',
  'cache/invalid-option': 'incorrect',
  'index/invalid-option': 'incorrect',
  'index/root-conflict': 'conflict',
  'index/worker-failed': 'unavailable',
  // the node's HTTP API, the remote client and the wire (issue 16)
  'request/malformed': 'incorrect',
  'request/too-large': 'incorrect',
  'request/unknown-operation': 'not-found',
  'request/wrong-type': 'incorrect',
  'wire/malformed': 'incorrect',
  'wire/unsupported-value': 'incorrect',
  'server/busy': 'busy',
  'server/not-ready': 'unavailable',
  'server/stopping': 'unavailable',
  'server/internal': 'fault',
  'db/invalid-reference': 'incorrect',
  'db/basis-not-reached': 'unavailable',
  'db/basis-not-kept': 'not-found',
  'client/timeout': 'unavailable',
  'client/network': 'unavailable',
  'client/bad-response': 'fault',
  'node/invalid-config': 'incorrect',
  'transact/invalid-idempotency-key': 'incorrect',
  // authentication (issue 16): every refusal is `forbidden`
  'auth/missing': 'forbidden',
  'auth/malformed': 'forbidden',
  'auth/unknown-key': 'forbidden',
  'auth/bad-signature': 'forbidden',
  'auth/expired': 'forbidden',
  'auth/not-permitted': 'forbidden',
  'auth/key-not-found': 'forbidden',
  'auth/replayed': 'forbidden',
  'auth/invalid-key': 'incorrect',
  // the production topology (issue 17): leadership, forwarding, novelty
  'cluster/not-leader': 'unavailable', // this node is not (or no longer) the transactor of the database
  'cluster/no-leader': 'unavailable', // no node held the database's transactor lease in time
  'cluster/lease-lost': 'unavailable', // the transactor's lease ran out before a log write
  'cluster/forward-failed': 'unavailable', // the transactor could not be reached to forward a transaction
  'cluster/read-only-role': 'incorrect', // a query-group node was asked to do a primary's work
  // ions (issue 18)
  'ion/unavailable': 'unavailable', // this node serves no ions
  'ion/invalid-config': 'incorrect', // ion-config.json names something wrong
  'ion/invalid-revision': 'incorrect', // a revision's name, archive or metadata is malformed
  'ion/revision-exists': 'conflict', // a revision of that name was pushed with other bytes
  'ion/revision-not-found': 'not-found',
  'ion/load-failed': 'fault', // a revision failed to load on a node (its module threw, or a name does not resolve)
  'ion/unknown-name': 'not-found', // no deployed ion has that name
  'ion/call-failed': 'fault', // the ion threw
  'ion/timeout': 'interrupted', // the ion ran past its time limit and was stopped
  'ion/crashed': 'fault', // the ion's thread died (out of memory, or it exited)
  'ion/deploy-in-progress': 'conflict', // another deployment of the group is not finished
  'ion/unknown-group': 'not-found', // no node of that compute group ever reported
  'ion/invalid-argument': 'incorrect', // a value given to an ion (or returned by one) cannot travel to its thread, e.g. a db value to a query function
  'ion/invalid-cast': 'incorrect', // cast.event, cast.alert or cast.metric was given a malformed map
  'ion/invalid-params-path': 'incorrect', // getParams was given a path that is not /-rooted
  'ion/params-failed': 'unavailable', // getParams could not read SSM Parameter Store or the local parameter file
  'ion/no-runtime': 'incorrect', // factum/ion was called outside an ion thread (e.g. in a unit test)
  'ion/bundle-failed': 'incorrect', // esbuild could not bundle the ion project (a missing module, a syntax error)
  'ion/invalid-revision-name': 'incorrect', // push could not name the revision (a dirty or non-git tree without --uname, or a bad --uname)
  // infrastructure: the CDK app's context (infra/config.ts)
  'infra/missing-context': 'incorrect',
  'infra/invalid-system-name': 'incorrect',
  'infra/unknown-topology': 'incorrect',
  'infra/invalid-cidr': 'incorrect',
  'infra/query-group-on-solo': 'incorrect',
  'infra/invalid-query-group': 'incorrect',
  'infra/invalid-option': 'incorrect',
  // test tooling: the list-append checker and its workload (test/checker)
  'check/malformed-history': 'incorrect', // an op out of order, a repeated appended value, a read of a non-list
  'check/invalid-option': 'incorrect',
} as const satisfies Record<string, Category>;

export type Code = keyof typeof codes;

export class FactumError extends Error {
  override name = 'FactumError';
  readonly code: Code;
  readonly category: Category;
  readonly data: Readonly<Record<string, unknown>>;

  constructor(code: Code, message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.category = codes[code];
    this.data = data;
  }
}

/** Shorthand for `throw new FactumError(...)` in expression position. */
export function fail(code: Code, message: string, data: Record<string, unknown> = {}): never {
  throw new FactumError(code, message, data);
}

export function isFactumError(error: unknown, code?: Code): error is FactumError {
  return error instanceof FactumError && (code === undefined || error.code === code);
}
