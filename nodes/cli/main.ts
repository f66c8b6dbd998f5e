//! The `factum` command.
//!
//!   factum start                               a local solo system: a node on 127.0.0.1 over
//!                                              ./data (a sample database on first run) and a
//!                                              REPL connected to it through the remote client
//!   factum serve [--dir DIR] [--port N]        run only the node; its first line on stdout is
//!                                              {"endpoint", "system", "keyFile"} (port 0: any)
//!   factum repl --endpoint URL [NAME]          a REPL on a node (--key-file F, --system S;
//!                                              default: the admin key of --dir's local system)
//!   factum [--dir DIR] create-db NAME          create a database        (these open the
//!   factum [--dir DIR] delete-db NAME          delete a database         directory in
//!   factum [--dir DIR] list-dbs                list databases            process: the
//!   factum [--dir DIR] transact NAME EDN       transact EDN tx-data      embedded client)
//!   factum [--dir DIR] datoms NAME INDEX [COMPONENT ...]   print datoms (components as EDN)
//!   factum [--dir DIR] repl NAME               read EDN forms, show results
//!   factum ions push|deploy|status|revisions   ion revisions on a node (ions-command.ts)
//!
//! Errors print as one line (`error [code]: message`) and exit with status 1.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createClient, type Client, type Connection } from '../../client/index.ts';
import { readEdn } from '../edn/reader.ts';
import { isFactumError } from '../util/errors.ts';
import { IonsUsageError, ionsUsage, runIonsCommand } from './ions-command.ts';
import { runRepl } from './repl.ts';
import { localSystem, serve, startChildNode } from './serve.ts';

const usage = `usage: factum [--dir DIR] COMMAND ...
  start                        a local system (node + REPL) on ./data, with a sample database
  serve [--port N]             run the node on 127.0.0.1 over DIR (port 0 or none: any free port)
  repl --endpoint URL [NAME]   a REPL on a node (--key-file FILE, --system NAME)
  create-db NAME | delete-db NAME | list-dbs
  transact NAME EDN
  datoms NAME INDEX [COMPONENT ...]
  repl NAME                    a REPL on DIR in this process
${ionsUsage}
options: --dir DIR   the storage directory (default ./data)`;

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: 'string', default: './data' },
      port: { type: 'string', default: '0' },
      endpoint: { type: 'string' },
      'key-file': { type: 'string' },
      system: { type: 'string', default: localSystem },
      // factum ions …
      project: { type: 'string' },
      uname: { type: 'string' },
      group: { type: 'string' },
      rev: { type: 'string' },
      app: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined) {
    console.log(usage);
    return;
  }
  if (command === 'serve') {
    const port = Number(values.port);
    if (!/^\d+$/.test(values.port!) || port > 65535) throw new UsageError(`--port is ${JSON.stringify(values.port)}; expected a port number (0: any free port)`);
    return serve(values.dir!, port);
  }
  if (command === 'start') return start(values.dir!);
  if (command === 'ions') {
    const { dir, endpoint, system, project, uname, group, rev, app } = values;
    const keyFile = values['key-file'];
    process.exitCode = await runIonsCommand(rest[0], { dir: dir!, system: system!, adminKeyFile, endpoint, keyFile, project, uname, group, rev, app });
    return;
  }
  if (command === 'repl' && values.endpoint !== undefined) {
    const keyFile = values['key-file'] ?? adminKeyFile(values.dir!);
    const client = createClient({ endpoint: values.endpoint, system: values.system!, keyFile });
    try {
      await runRepl(await client.connect(rest[0] ?? 'sample'));
    } finally {
      await client.close();
    }
    return;
  }
  const client = createClient({ storage: 'local', dir: values.dir! });
  try {
    await run(client, command, rest);
  } finally {
    await client.close();
  }
}

/** The admin key file of the local system in `dir` (`factum serve` made it on first start). */
function adminKeyFile(dir: string): string {
  const folder = path.resolve(dir, 'access', 'admin');
  let names: string[] = [];
  try {
    names = readdirSync(folder).filter((name) => name.endsWith('.json'));
  } catch {
    names = [];
  }
  if (names.length === 0) throw new UsageError(`no access key in ${folder}; pass --key-file FILE (the keyFile \`factum serve\` printed)`);
  return path.join(folder, names.sort()[0]!);
}

/** `factum start`: the node as a child process, and a REPL connected to it over HTTP. */
async function start(dir: string): Promise<void> {
  const logFile = path.join(dir, 'node.log');
  const node = await startChildNode(dir, logFile);
  const { endpoint, system, keyFile } = node.announcement;
  const client = createClient({ endpoint, system, keyFile: keyFile! });
  try {
    console.log(`factum: a local solo system. The node serves ${endpoint} (its log: ${logFile}); stop with Ctrl-D.`);
    console.log('Connect from TypeScript:');
    console.log(`  const client = createClient({ endpoint: '${endpoint}', system: '${system}', keyFile: '${keyFile}' });`);
    console.log(`  const conn = await client.connect('sample');`);
    await runRepl(await sampleDatabase(client));
  } finally {
    await client.close();
    await node.stop();
  }
}

async function run(client: Client, command: string, args: string[]): Promise<void> {
  const need = (n: number, shape: string) => {
    if (args.length < n) throw new UsageError(`${command} expects ${shape}`);
  };
  switch (command) {
    case 'create-db':
      need(1, 'NAME');
      console.log((await client.createDatabase(args[0]!)) ? `created ${args[0]}` : `${args[0]} exists already`);
      return;
    case 'delete-db':
      need(1, 'NAME');
      console.log((await client.deleteDatabase(args[0]!)) ? `deleted ${args[0]}` : `no database ${args[0]}`);
      return;
    case 'list-dbs':
      for (const name of await client.listDatabases()) console.log(name);
      return;
    case 'transact': {
      need(2, 'NAME EDN');
      const report = await (await client.connect(args[0]!)).transact(args[1]!);
      console.log(`t ${report.dbAfter.basisT}: ${report.txData.length} datoms; tempids ${JSON.stringify(report.tempids)}`);
      return;
    }
    case 'datoms': {
      need(2, 'NAME INDEX [COMPONENT ...]');
      const conn = await client.connect(args[0]!);
      const { printDatoms } = await import('./repl.ts');
      await printDatoms(conn.db(), [args[1]!, ...args.slice(2)].map((text) => readEdn(text)));
      return;
    }
    case 'repl':
      need(1, 'NAME');
      await runRepl(await client.connect(args[0]!));
      return;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

/** The sample database, created and filled on first run. */
async function sampleDatabase(client: Client): Promise<Connection> {
  const created = await client.createDatabase('sample');
  const conn = await client.connect('sample');
  if (created) {
    const text = (file: string) => readFileSync(new URL(file, import.meta.url), 'utf8');
    await conn.transact(text('./sample.edn'));
    await conn.transact(text('./sample-data.edn'));
    console.log('Created the sample database "sample" (films and the people who made them).');
  }
  return conn;
}

class UsageError extends Error {}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) console.error(`error: ${error.message}\n${usage}`);
  else if (error instanceof IonsUsageError) console.error(`error: ${error.message}\nusage:\n${ionsUsage}`);
  else if (isFactumError(error)) console.error(`error [${error.code}]: ${error.message}`);
  else console.error(`error: ${(error as Error)?.stack ?? String(error)}`);
  process.exitCode = 1;
});
