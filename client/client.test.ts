// The client suite (client-suite.ts) against the embedded client on memory and on a local
// directory, and against the remote client on a real node process over a local directory; plus
// what only one kind of client does.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from './index.ts';
import { describeClientSuite, stoppingNodeOnClose, type ClientTarget } from './client-suite.ts';
import { startChildNode, type ChildNode } from '../nodes/cli/serve.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'factum-client-'));
  dirs.push(dir);
  return dir;
}

/** The directory each client was opened on, for restarts. */
const dirOf = new WeakMap<Client, string>();

const localTarget: ClientTarget = {
  async fresh() {
    const dir = await tempDir();
    const client = createClient({ storage: 'local', dir });
    dirOf.set(client, dir);
    return client;
  },
  async restart(client) {
    await client.close();
    const dir = dirOf.get(client)!;
    const again = createClient({ storage: 'local', dir });
    dirOf.set(again, dir);
    return again;
  },
};

/** A remote client on its own node process; closing the client stops the node. */
async function remoteOn(dir: string): Promise<Client> {
  const node: ChildNode = await startChildNode(dir, path.join(dir, 'node.log'));
  const { endpoint, system, keyFile } = node.announcement;
  const client = createClient({ endpoint, system, keyFile: keyFile! });
  const wrapped = stoppingNodeOnClose(client, node);
  dirOf.set(wrapped, dir);
  return wrapped;
}

const remoteTarget: ClientTarget = {
  fresh: async () => remoteOn(await tempDir()),
  async restart(client) {
    await client.close();
    return remoteOn(dirOf.get(client)!);
  },
};

describeClientSuite('embedded, memory', { fresh: async () => createClient({ storage: 'memory' }), restart: null });
describeClientSuite('embedded, local directory', localTarget);
describeClientSuite('remote, node on a local directory', remoteTarget);

describe('client, embedded only', () => {
  it('refuses a second client on the same directory', async () => {
    const client = await localTarget.fresh();
    await client.listDatabases();
    const second = createClient({ storage: 'local', dir: dirOf.get(client)! });
    await expect(second.listDatabases()).rejects.toMatchObject({ code: 'storage/locked' });
    await client.close();
  });

  it('rejects a bad configuration without echoing secrets', () => {
    expect(() => createClient({ storage: 'disk' } as never)).toThrow(expect.objectContaining({ code: 'client/invalid-config' }));
    expect(() => createClient({ storage: 'local', dir: '' })).toThrow(expect.objectContaining({ code: 'client/invalid-config' }));
    expect(() => createClient({ endpoint: 'http://127.0.0.1:1', system: 'x' })).toThrow(expect.objectContaining({ code: 'client/invalid-config' }));
    const secret = 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA';
    let message = '';
    try {
      createClient({ endpoint: 'http://127.0.0.1:1', system: '', accessKey: { keyId: 'k', secret } });
    } catch (error) {
      message = JSON.stringify({ message: (error as Error).message, data: (error as { data?: unknown }).data });
    }
    expect(message).toContain('system');
    expect(message).not.toContain(secret);
    expect(() => createClient({ endpoint: 'not a url', system: 'x', accessKey: { keyId: 'k', secret } })).toThrow(expect.objectContaining({ code: 'client/invalid-config' }));
  });
});
