import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { readNodeSettings, startNode } from './main.ts';
import type { Server } from 'node:http';

describe('node entry point', () => {
  let server: Server | undefined;
  afterEach(async () => {
    if (server !== undefined) await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  });

  it('answers GET /health with its role and system name', async () => {
    server = await startNode(readNodeSettings({ FACTUM_SYSTEM: 'demo', FACTUM_ROLE: 'primary', FACTUM_PORT: '0', FACTUM_HOST: '127.0.0.1' }));
    const { port } = server.address() as { port: number };
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', role: 'primary', system: 'demo', group: 'primary' });
    const missing = await fetch(`http://127.0.0.1:${port}/other`);
    expect(missing.status).toBe(404);
  });

  it('takes the SSD and EFS cache directories the user data sets', () => {
    const settings = readNodeSettings({ FACTUM_SYSTEM: 'demo', FACTUM_ROLE: 'primary', FACTUM_SSD_CACHE_DIR: '/mnt/ssd/factum', FACTUM_EFS_CACHE_DIR: '/mnt/efs/factum' });
    expect(settings.cache).toEqual({ cacheDirectory: '/mnt/ssd/factum', efsCacheDirectory: '/mnt/efs/factum' });
    expect(readNodeSettings({ FACTUM_SYSTEM: 'demo', FACTUM_ROLE: 'primary' }).cache).toEqual({});
  });

  it.each([
    [{}, /FACTUM_SYSTEM/],
    [{ FACTUM_SYSTEM: 'demo', FACTUM_ROLE: 'leader' }, /FACTUM_ROLE is "leader"/],
    [{ FACTUM_SYSTEM: 'demo', FACTUM_ROLE: 'primary', FACTUM_PORT: 'http' }, /FACTUM_PORT/],
  ])('rejects bad settings %j', (environment, message) => {
    expect(() => readNodeSettings(environment)).toThrow(message);
  });

  it('runs as a process and stops on SIGTERM', async () => {
    const entry = fileURLToPath(new URL('./main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      env: { ...process.env, FACTUM_SYSTEM: 'demo', FACTUM_ROLE: 'query-group', FACTUM_GROUP: 'analytics', FACTUM_PORT: '0', FACTUM_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    const started = JSON.parse(line.toString().split('\n')[0]!) as { event: string; port: number; group: string };
    expect(started).toMatchObject({ event: 'node/started', group: 'analytics' });
    const health = await fetch(`http://127.0.0.1:${started.port}/health`);
    expect(await health.json()).toMatchObject({ role: 'query-group', system: 'demo' });
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });
});
