//! The shapes ions share between the toolchain (`ions/`, `factum ions ...`), the node (the ion
//! host and the deployer) and the wire: an ion application's configuration, a pushed revision's
//! metadata, a deployment and the status of a group's nodes, and where each lives in storage.
//!
//! A revision is immutable once pushed: its archive is a segment under `ions/revisions/`, which
//! no database's gc ever lists (theirs are under each database's own prefix), and its metadata a
//! record made once.

/** One Lambda entry point of an ion application. */
export interface IonLambdaConfig {
  /** The exported function that answers the Lambda's events: `(input: string) => string | Promise<string>`. */
  readonly handler: string;
  readonly description?: string;
  /** The Lambda's timeout, in seconds (1–900). @default 30 */
  readonly timeoutSeconds?: number;
  /** The Lambda's reserved concurrency. @default - unreserved */
  readonly concurrency?: number;
}

/** `ion-config.json`: what an ion application exposes. */
export interface IonConfig {
  /** The application's name: letters, digits, `.`, `-`; the namespace of its names (`shop/transfer`). */
  readonly appName: string;
  /** The module esbuild bundles, relative to the project. @default 'src/index.ts' */
  readonly entry?: string;
  /** Exported functions callable as transaction functions, query functions and pull xforms, as `<appName>/<export>`. */
  readonly allow: readonly string[];
  /** The exported function answering HTTP requests under `/ion/` of the group's endpoint. */
  readonly http?: { readonly handler: string; readonly public?: boolean };
  /** Lambda name → its entry point. */
  readonly lambdas?: Readonly<Record<string, IonLambdaConfig>>;
}

/** What `factum ions push` records with a revision's archive. */
export interface RevisionMetadata {
  readonly app: string;
  /** The git commit of a clean tree, or the `--uname` given for a dirty one. */
  readonly rev: string;
  readonly config: IonConfig;
  /** SHA-256 (hex) of the archive's bytes. */
  readonly archiveSha256: string;
  readonly archiveBytes: number;
  /** SHA-256 (hex) of the project's package-lock.json, or null without one. */
  readonly lockHash: string | null;
  /** ISO time of the push (not part of the archive, which stays reproducible). */
  readonly pushedAt: string;
}

/** A group's current deployment (the record `ions/deployment/<group>`). */
export interface Deployment {
  readonly deployId: string;
  readonly group: string;
  readonly app: string;
  readonly rev: string;
  /** The revision the group ran before, rolled back to if `rev` fails to load on a node. */
  readonly previous: { readonly app: string; readonly rev: string } | null;
  /** `deploying` until every live node runs `rev`; `rolled-back` after a node failed to load it. */
  readonly state: 'deploying' | 'deployed' | 'rolled-back';
  /** Why it was rolled back: the node and its error. */
  readonly reason?: string;
  readonly startedAt: string;
}

/** One node's state (an entry of the record `ions/status/<group>`, a JSON object by node name). */
export interface IonNodeStatus {
  readonly node: string;
  /** The deployment it last acted on. */
  readonly deployId: string | null;
  /** The revision it serves now (null: none). */
  readonly running: { readonly app: string; readonly rev: string } | null;
  readonly state: 'loading' | 'running' | 'failed';
  readonly error?: string;
  /** With `failed`: the failure is the revision's own, so the deployment must be rolled back (any node that sees it does). */
  readonly rollBack?: boolean;
  /** When the node last wrote its entry, by its own clock. */
  readonly at: string;
  /** In ionStatus answers: whether the node still writes its entry (a node gone stops counting). */
  readonly live?: boolean;
}

/** What `ionStatus` answers. */
export interface IonGroupStatus {
  readonly group: string;
  readonly deployment: Deployment | null;
  readonly nodes: readonly IonNodeStatus[];
}

/**
 * Where ions live in the system's storage. A revision's archive is a segment named by its
 * SHA-256 (so two pushes racing with different bytes never overwrite each other's); its metadata
 * is a record created once, by compare-and-swap, which makes the push: a revision exists once its
 * record does, and names the one archive that is it.
 */
export const ionKeys = {
  archive: (app: string, rev: string, sha256: string) => `ions/revisions/${app}/${rev}/${sha256}`,
  /** Every archive's key starts so (an app's: with `${app}/` after it). */
  archives: 'ions/revisions/',
  metadata: (app: string, rev: string) => `ions/revision/${app}/${rev}`,
  deployment: (group: string) => `ions/deployment/${group}`,
  status: (group: string) => `ions/status/${group}`,
};

/** Names: an app name or a revision name (git commit or `--uname`). */
export const APP_NAME = /^[a-z][a-z0-9.-]{0,62}$/;
export const REV_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/**
 * App names an application may not take: the namespaces of the engine's own operations and
 * functions (`:db/add`, `:db.fn/cas`, `clojure.core/str`): calls of an app's ions are found by
 * their namespace, so such an app would take those over.
 */
export function isReservedAppName(app: string): boolean {
  return app === 'db' || app.startsWith('db.') || app === 'clojure.core' || app === 'datomic' || app.startsWith('datomic.') || app === 'factum' || app.startsWith('factum.');
}

/** A compute group's name: `primary` or a query group's. */
export const GROUP_NAME = /^[a-z][a-z0-9-]{0,62}$/;
/** An export name an ion-config may name. */
export const EXPORT_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** What an ion-config's `http.handler` receives: one request under `/ion/` of the node. */
export interface IonHttpRequest {
  /** Upper case: `'GET'`, `'POST'`… */
  readonly method: string;
  /** The path after `/ion`, starting with `/` (`/ion/orders/7` is `/orders/7`). */
  readonly path: string;
  /** The raw query string without its `?` (`''` when there is none); parse it with `new URLSearchParams(query)`. */
  readonly query: string;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** What an HTTP handler answers. */
export interface IonHttpResponse {
  /** 100–599. */
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
}
