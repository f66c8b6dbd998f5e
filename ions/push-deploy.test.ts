// The toolchain against a real node (in this process, local storage, 127.0.0.1, any port): push the
// example app, deploy it, and use its ions; the `factum ions` command's output and exit status;
// a revision whose module throws at load is rolled back and the command says why.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, q, type Client } from '../client/index.ts';
import { readNodeSettings, startNode, type RunningNode } from '../nodes/main.ts';
import { runIonsCommand } from '../nodes/cli/ions-command.ts';
import { isFactumError } from '../nodes/util/errors.ts';
import { openIonAdmin, type IonAdmin } from './ion-admin.ts';
import { prepareRevision, pushRevision } from './push.ts';

const example = fileURLToPath(new URL('./examples', import.meta.url));
const work = mkdtempSync(path.join(os.tmpdir(), 'factum-ions-e2e-'));
let node: RunningNode;
let admin: IonAdmin;
let client: Client;

beforeAll(async () => {
  const dir = path.join(work, 'data');
  node = await startNode(readNodeSettings({ FACTUM_STORAGE: 'local', FACTUM_DATA_DIR: dir, FACTUM_PORT: '0', FACTUM_HOST: '127.0.0.1', FACTUM_SYSTEM: 'local', FACTUM_ROLE: 'primary' }), new PassThrough().resume());
  admin = openIonAdmin({ endpoint: node.endpoint, system: 'local', keyFile: node.keyFile! });
  client = createClient({ endpoint: node.endpoint, system: 'local', keyFile: node.keyFile! });
  await client.createDatabase('bank');
  const conn = await client.connect('bank');
  await conn.transact(readFileSync(path.join(example, 'schema.edn'), 'utf8'));
  await conn.transact('[{:account/id "alice" :account/balance 5000} {:account/id "bob" :account/balance 100}]');
});

afterAll(async () => {
  admin?.close();
  await client?.close();
  await node?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Runs `factum ions …` in this process against the node; its printed lines and exit status. */
async function ions(subcommand: string, flags: Record<string, string>): Promise<{ status: number; lines: string[] }> {
  const lines: string[] = [];
  const status = await runIonsCommand(subcommand, {
    dir: path.join(work, 'data'),
    endpoint: node.endpoint,
    system: 'local',
    keyFile: node.keyFile!,
    adminKeyFile: () => node.keyFile!,
    print: (line) => lines.push(line),
    ...flags,
  });
  return { status, lines };
}

describe('factum ions against a node', () => {
  it('pushes a revision once: the same bytes again are accepted, other bytes under its name refused', async () => {
    const project = path.join(work, 'bank-push');
    cpSync(example, project, { recursive: true });
    const first = await pushRevision({ projectDirectory: project, uname: 'push-1', admin });
    expect(first).toMatchObject({ app: 'bank', rev: 'push-1', created: true });
    expect((await pushRevision({ projectDirectory: project, uname: 'push-1', admin })).created).toBe(false);
    writeFileSync(path.join(project, 'src', 'index.ts'), `${readFileSync(path.join(project, 'src', 'index.ts'), 'utf8')}export const changed = 1;\n`);
    const error = await pushRevision({ projectDirectory: project, uname: 'push-1', admin }).catch((caught: unknown) => caught);
    expect(isFactumError(error, 'ion/revision-exists'), String(error)).toBe(true);
    const listed = await admin.revisions('bank');
    expect(listed.find((revision) => revision.rev === 'push-1')).toEqual(first.metadata);
  });

  it('push prints its progress and the exact deploy command; deploy runs it; status shows it', async () => {
    const push = await ions('push', { project: example, uname: 'cli-1' });
    expect(push.status).toBe(0);
    expect(push.lines[0]).toMatch(/^bundling bank \(revision cli-1\) from /);
    expect(push.lines).toContainEqual(expect.stringMatching(/^bundled: \d+ bytes in \d+ ms$/));
    expect(push.lines).toContainEqual(expect.stringMatching(/^uploading bank\/cli-1: \d+ bytes/));
    expect(push.lines).toContain('pushed bank revision cli-1');
    const command = push.lines.at(-1)!.trim();
    expect(command).toBe(`factum ions deploy --group primary --app bank --rev cli-1 --endpoint ${node.endpoint} --key-file ${node.keyFile}`);

    // The printed command's flags, as the command line would give them (no --app: found from the revisions).
    const deploy = await ions('deploy', { group: 'primary', rev: 'cli-1' });
    expect(deploy.status).toBe(0);
    expect(deploy.lines[0]).toMatch(/^deploying bank\/cli-1 onto primary \(deployment \S+\)$/);
    expect(deploy.lines).toContainEqual(expect.stringMatching(/^ {2}\S+ {2}running {2}runs bank\/cli-1$/));
    expect(deploy.lines.at(-1)).toMatch(/^deployed bank\/cli-1 onto primary in \d+\.\d s$/);

    const status = await ions('status', { group: 'primary' });
    expect(status.lines[0]).toMatch(/^group primary: bank\/cli-1 deployed \(deployment \S+, started /);
    expect(status.lines[1]).toMatch(/^ {2}\S+ {2}running {2}runs bank\/cli-1$/);

    // The example's ions, deployed: the transaction function keeps its invariant.
    const conn = await client.connect('bank');
    const report = await conn.transact('[[:bank/transfer [:account/id "alice"] [:account/id "bob"] 2500]]');
    expect(await report.dbAfter.pull('[:account/balance]', ['account/id', 'bob'])).toEqual({ 'account/balance': 2600 });
    const refused = await conn.transact('[[:bank/transfer [:account/id "bob"] [:account/id "alice"] 9999]]').catch((caught: unknown) => caught);
    expect((refused as Error).message).toMatch(/holds 2600 cents, less than the 9999 to transfer/);
    expect(await conn.db().pull('[:account/balance]', ['account/id', 'bob'])).toEqual({ 'account/balance': 2600 });
    const unknown = await conn.transact('[[:bank/transfer [:account/id "alice"] [:account/id "nobody"] 1]]').catch((caught: unknown) => caught);
    expect((unknown as Error).message).toMatch(/no account \[":account\/id","nobody"\]/);
    expect(await q('[:find ?id ?risk :where [?a :account/id ?id] [?a :account/balance ?b] [(bank/riskScore ?b) ?risk]]', conn.db())).toEqual(expect.arrayContaining([['alice', 'medium'], ['bob', 'medium']]));
    expect(JSON.parse(await admin.invoke('balance', '{"account":"alice"}'))).toEqual({ account: 'alice', found: true, balance: '25.00' });
  });

  it('a revision that fails to load is rolled back: deploy exits 1 with the reason', async () => {
    const project = path.join(work, 'bank-broken');
    cpSync(example, project, { recursive: true });
    writeFileSync(path.join(project, 'src', 'index.ts'), `${readFileSync(path.join(project, 'src', 'index.ts'), 'utf8')}throw new Error('broken on purpose');\n`);
    const { notes } = await prepareRevision({ projectDirectory: project, uname: 'broken-1' });
    expect(notes[0]).toMatch(/could not load the bundle here .*broken on purpose/);
    expect((await ions('push', { project, uname: 'broken-1' })).status).toBe(0);
    const deploy = await ions('deploy', { group: 'primary', rev: 'broken-1', app: 'bank' });
    expect(deploy.status).toBe(1);
    expect(deploy.lines.at(-1)).toMatch(/^rolled back: .*broken on purpose/);
    const status = await ions('status', { group: 'primary' });
    expect(status.lines[0]).toMatch(/^group primary: bank\/broken-1 rolled-back /);
    expect(status.lines.join('\n')).toMatch(/runs bank\/cli-1/);
  });

  it('the factum command line: push then deploy, as printed; a usage error exits 1', async () => {
    const factum = fileURLToPath(new URL('../bin/factum.mjs', import.meta.url));
    // Asynchronous: the node answering it runs in this process.
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, [factum, ...args], { encoding: 'utf8' }).then(
        ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
        (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
      );
    const push = await run(['ions', 'push', '--project', example, '--uname', 'cli-2', '--endpoint', node.endpoint, '--key-file', node.keyFile!]);
    expect(push.code, push.stderr).toBe(0);
    const command = push.stdout.trim().split('\n').at(-1)!.trim().split(' ');
    expect(command.slice(0, 3)).toEqual(['factum', 'ions', 'deploy']);
    const deploy = await run(command.slice(1));
    expect(deploy.code, deploy.stderr).toBe(0);
    expect(deploy.stdout).toMatch(/^deployed bank\/cli-2 onto primary in /m);
    const usage = await run(['ions', 'status', '--endpoint', node.endpoint, '--key-file', node.keyFile!]);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toMatch(/^error: factum ions status needs --group G\.\nusage:\n {2}ions push/);
  });

  it('lists revisions; says what is missing before it calls the node', async () => {
    expect((await ions('revisions', { app: 'nothing' })).lines).toEqual(['no revision of nothing pushed yet']);
    expect((await ions('revisions', { app: 'bank' })).lines).toContainEqual(expect.stringMatching(/^bank\/cli-1 {2}pushed \S+ {2}\d+ bytes {2}sha256 [0-9a-f]{12}…$/));
    await expect(ions('deploy', { group: 'primary' })).rejects.toThrow(/factum ions deploy needs --rev R/);
    await expect(ions('status', {})).rejects.toThrow(/factum ions status needs --group G/);
    await expect(ions('frobnicate', {})).rejects.toThrow(/unknown ions command "frobnicate"/);
    await expect(ions('deploy', { group: 'primary', rev: 'never-pushed' })).rejects.toThrow(/no application has a revision never-pushed/);
  });
});
