// Lazy results stay lazy over HTTP: a client that stops reading a scan stops the node's work. The
// node logs each stream's request with the items it sent and whether it sent them all.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient } from '../../client/index.ts';
import { startChildNode } from '../../nodes/cli/serve.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function streamLines(logFile: string): Promise<Array<{ operation: string; items: number; complete: boolean }>> {
  const lines = (await readFile(logFile, 'utf8')).split('\n').filter((line) => line.startsWith('{'));
  return lines.map((line) => JSON.parse(line) as { event: string; operation: string; items?: number; complete: boolean }).filter((line) => line.event === 'request' && line.items !== undefined) as never;
}

describe('streams over HTTP', () => {
  it('stop producing when the client stops reading, and finish when it reads to the end', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'factum-streams-'));
    dirs.push(dir);
    const logFile = path.join(dir, 'node.log');
    const node = await startChildNode(dir, logFile);
    const { endpoint, system, keyFile } = node.announcement;
    const client = createClient({ endpoint, system, keyFile: keyFile! });
    try {
      await client.createDatabase('big');
      const conn = await client.connect('big');
      await conn.transact('[{:db/ident :item/n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]');
      const total = 200_000;
      for (let start = 0; start < total; start += 20_000) {
        await conn.transact(Array.from({ length: 20_000 }, (_, i) => ({ 'item/n': start + i })));
      }
      let read = 0;
      for await (const datom of conn.db().datoms('aevt', ['item/n'])) {
        void datom;
        if (++read === 10) break;
      }
      expect((await conn.db().stats()).attributes['item/n']).toEqual({ count: total });
      let all = 0;
      for await (const datom of conn.db().datoms('aevt', ['item/n'])) {
        void datom;
        all++;
      }
      expect(all).toBe(total);
    } finally {
      await client.close();
      await node.stop();
    }
    const streams = (await streamLines(logFile)).filter((line) => line.operation === 'datoms');
    expect(streams).toHaveLength(2);
    const stopped = streams[0]!;
    const finished = streams[1]!;
    expect(stopped.complete).toBe(false);
    // Five wire items a datom; the abandoned scan sent far fewer than all of them.
    expect(stopped.items).toBeLessThan((200_000 * 5) / 2);
    expect(finished).toMatchObject({ complete: true, items: 200_000 * 5 });
  });
});
