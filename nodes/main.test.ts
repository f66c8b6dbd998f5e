import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readNodeSettings } from './main.ts';
import { decode } from '../client/wire/codec.ts';

const entry = fileURLToPath(new URL('./main.ts', import.meta.url));
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('node entry point', () => {
  it('takes the settings the user data writes', () => {
    const settings = readNodeSettings({ FACTUM_SYSTEM: 'demo', FACTUM_ROLE: 'primary', FACTUM_STORAGE: 'aws', FACTUM_TABLE: 't', FACTUM_BUCKET: 'b', AWS_REGION: 'eu-west-1', FACTUM_SSD_CACHE_DIR: '/mnt/ssd/factum', FACTUM_EFS_CACHE_DIR: '/mnt/efs/factum' });
    expect(settings.cache).toEqual({ cacheDirectory: '/mnt/ssd/factum', efsCacheDirectory: '/mnt/efs/factum' });
    expect(settings.storage).toMatchObject({ kind: 'aws', config: { table: 't', bucket: 'b', region: 'eu-west-1' } });
    expect(settings).toMatchObject({ port: 8182, host: '0.0.0.0', group: 'primary', accessPrefix: 'access/', readsMax: 64 });
    expect(readNodeSettings({ FACTUM_SYSTEM: 'demo', FACTUM_ROLE: 'primary', FACTUM_STORAGE: 'local', FACTUM_DATA_DIR: '/d' }).storage).toEqual({ kind: 'local', dir: '/d' });
  });

  it.each([
    [{}, [/FACTUM_SYSTEM is null/, /FACTUM_ROLE is null/, /FACTUM_TABLE/]],
    [{ FACTUM_SYSTEM: 'demo', FACTUM_ROLE: 'leader', FACTUM_STORAGE: 'local', FACTUM_DATA_DIR: '/d' }, [/FACTUM_ROLE is "leader": expected primary or query-group/]],
    [{ FACTUM_SYSTEM: 'Demo!', FACTUM_ROLE: 'primary', FACTUM_STORAGE: 'disk' }, [/FACTUM_SYSTEM is "Demo!"/, /FACTUM_STORAGE is "disk": expected local or aws/]],
    [{ FACTUM_SYSTEM: 'demo', FACTUM_ROLE: 'primary', FACTUM_STORAGE: 'local', FACTUM_PORT: 'http', FACTUM_READS_MAX: '0' }, [/FACTUM_DATA_DIR is not set/, /FACTUM_PORT is "http"/, /FACTUM_READS_MAX is "0"/]],
  ])('names every bad setting, one line each: %j', (environment, messages) => {
    let message = '';
    try {
      readNodeSettings(environment);
    } catch (error) {
      expect(error).toMatchObject({ code: 'node/invalid-config' });
      message = (error as Error).message;
    }
    expect(message.split('\n')).toHaveLength(messages.length);
    for (const pattern of messages) expect(message).toMatch(pattern);
  });

  it('exits non-zero before listening when its settings are bad', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], { env: { PATH: process.env.PATH, FACTUM_ROLE: 'leader' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(stderr).toMatch(/FACTUM_ROLE is "leader"/);
    expect(stderr).toMatch(/FACTUM_SYSTEM/);
  });

  it('runs as a process: health once ready, every other request authenticated, SIGTERM stops it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'factum-main-'));
    dirs.push(dir);
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      env: { ...process.env, FACTUM_SYSTEM: 'demo', FACTUM_ROLE: 'query-group', FACTUM_GROUP: 'analytics', FACTUM_PORT: '0', FACTUM_HOST: '127.0.0.1', FACTUM_STORAGE: 'local', FACTUM_DATA_DIR: dir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout! });
    let endpoint = '';
    for await (const line of lines) {
      const event = JSON.parse(line) as { event: string; endpoint?: string };
      if (event.event === 'node/started') {
        endpoint = event.endpoint!;
        break;
      }
    }
    const health = await fetch(`${endpoint}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', role: 'query-group', system: 'demo', group: 'analytics' });
    const unsigned = await fetch(`${endpoint}/api/listDatabases`, { method: 'POST' });
    expect(unsigned.status).toBe(401);
    expect(decode(new Uint8Array(await unsigned.arrayBuffer()))).toMatchObject({ error: { code: 'auth/missing', category: 'forbidden' } });
    const edn = await fetch(`${endpoint}/nowhere`, { headers: { accept: 'application/edn' } });
    expect(edn.status).toBe(401);
    expect(await edn.text()).toMatch(/:code "auth\/missing"/);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });
});
