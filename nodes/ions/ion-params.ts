// getParams in the ion thread: the parameters under a path, by name relative to the path, from SSM
// Parameter Store (GetParametersByPath: recursive, decrypted, every page) or, on a local system, a
// JSON file whose keys are full parameter names (`{ "/shop/dev/stripe-key": "sk_test_…" }`).
// Answers are cached for a few seconds per path, so an ion may call getParams on every request
// without a round trip to SSM each time; a failure is not cached.
//
// Values are secrets: they appear in no error and no log, only names and paths do.
import { readFile } from 'node:fs/promises';
import { FactumError } from '../util/errors.ts';
import type { IonWorkerData } from './ion-messages.ts';

const CACHE_MS = 10_000;

type Params = Readonly<Record<string, string>>;

export function paramsReader(source: IonWorkerData['params']): (path: string) => Promise<Params> {
  const cache = new Map<string, { readonly at: number; readonly params: Promise<Params> }>();
  const read = source.kind === 'file' ? (prefix: string) => fromFile(source.path, prefix) : ssmReader(source);
  return (path) => {
    const prefix = checkPath(path);
    const hit = cache.get(prefix);
    if (hit !== undefined && Date.now() - hit.at < CACHE_MS) return hit.params;
    const params = read(prefix);
    cache.set(prefix, { at: Date.now(), params });
    params.catch(() => cache.delete(prefix));
    return params;
  };
}

/** The path as a prefix ending in `/`, or throws `ion/invalid-params-path`. */
function checkPath(path: unknown): string {
  if (typeof path !== 'string' || !path.startsWith('/') || path.includes('//')) {
    throw new FactumError('ion/invalid-params-path', `getParams expects a path of the parameter store starting with / (e.g. '/factum/shop/dev/'), got ${typeof path === 'string' ? JSON.stringify(path) : typeof path}.`, { path: typeof path === 'string' ? path : typeof path });
  }
  return path.endsWith('/') ? path : `${path}/`;
}

function relative(prefix: string, entries: Iterable<readonly [string, string]>): Params {
  const out: Record<string, string> = {};
  for (const [name, value] of entries) if (name.startsWith(prefix) && name.length > prefix.length) out[name.slice(prefix.length)] = value;
  return out;
}

async function fromFile(file: string, prefix: string): Promise<Params> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new FactumError('ion/params-failed', `getParams could not read the local parameter file ${file}: ${(error as Error).message}. It must be a JSON object whose keys are full parameter names and whose values are strings.`, { file, path: prefix });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message may quote the file, which holds secrets.
    throw new FactumError('ion/params-failed', `The local parameter file ${file} is not valid JSON; it must be a JSON object whose keys are full parameter names and whose values are strings.`, { file, path: prefix });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new FactumError('ion/params-failed', `The local parameter file ${file} holds ${Array.isArray(parsed) ? 'an array' : typeof parsed}; expected a JSON object of parameter name → string value.`, { file });
  }
  const notStrings = Object.entries(parsed).filter(([, value]) => typeof value !== 'string').map(([name]) => name);
  if (notStrings.length > 0) {
    throw new FactumError('ion/params-failed', `The local parameter file ${file} has values that are not strings: ${notStrings.join(', ')}; Parameter Store holds strings only.`, { file, names: notStrings });
  }
  return relative(prefix, Object.entries(parsed as Record<string, string>));
}

function ssmReader(source: { readonly region: string; readonly endpoint?: string }): (prefix: string) => Promise<Params> {
  // Loaded on first use: most revisions never read parameters, and the SDK is large.
  let ssm: Promise<{ send: (prefix: string, token: string | undefined) => Promise<{ entries: Array<[string, string]>; next: string | undefined }> }> | null = null;
  const open = async () => {
    const { SSMClient, GetParametersByPathCommand } = await import('@aws-sdk/client-ssm');
    const client = new SSMClient({ region: source.region, ...(source.endpoint === undefined ? {} : { endpoint: source.endpoint }) });
    return {
      async send(prefix: string, token: string | undefined) {
        const page = await client.send(new GetParametersByPathCommand({ Path: prefix === '/' ? '/' : prefix.slice(0, -1), Recursive: true, WithDecryption: true, NextToken: token }));
        const entries = (page.Parameters ?? []).filter((p) => p.Name !== undefined && p.Value !== undefined).map((p) => [p.Name!, p.Value!] as [string, string]);
        return { entries, next: page.NextToken };
      },
    };
  };
  return async (prefix) => {
    ssm ??= open();
    const entries: Array<[string, string]> = [];
    let token: string | undefined;
    try {
      const reader = await ssm;
      do {
        const page = await reader.send(prefix, token);
        entries.push(...page.entries);
        token = page.next;
      } while (token !== undefined);
    } catch (error) {
      const { name, message } = error as Error;
      throw new FactumError('ion/params-failed', `getParams could not read ${prefix} from SSM Parameter Store in ${source.region}: ${name}: ${message}. Check that the node's role may ssm:GetParametersByPath on that path (and kms:Decrypt for SecureString parameters).`, { path: prefix, region: source.region, error: name });
    }
    return relative(prefix, entries);
  };
}
