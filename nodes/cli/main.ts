//! The `factum` command.
//!
//!   factum [--dir DIR] create-db NAME          create a database
//!   factum [--dir DIR] delete-db NAME          delete a database and its data
//!   factum [--dir DIR] list-dbs                list databases
//!   factum [--dir DIR] transact NAME EDN       transact tx-data given as EDN text
//!   factum [--dir DIR] datoms NAME INDEX [COMPONENT ...]   print datoms (components as EDN)
//!   factum [--dir DIR] repl NAME               read EDN forms, show results
//!   factum start                               the REPL on ./data, with a sample database
//!
//! Errors print as one line (`error [code]: message`) and exit with status 1.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createClient, type Client, type Connection } from '../../client/index.ts';
import { readEdn } from '../edn/reader.ts';
import { isFactumError } from '../util/errors.ts';
import { runRepl } from './repl.ts';

const usage = `usage: factum [--dir DIR] COMMAND ...
  create-db NAME | delete-db NAME | list-dbs
  transact NAME EDN
  datoms NAME INDEX [COMPONENT ...]
  repl NAME
  start            (the REPL on ./data with a sample database)
options: --dir DIR   the storage directory (default ./data)`;

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { dir: { type: 'string', default: './data' }, help: { type: 'boolean', short: 'h' } } });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined) {
    console.log(usage);
    return;
  }
  const client = createClient({ storage: 'local', dir: values.dir! });
  try {
    await run(client, command, rest);
  } finally {
    await client.close();
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
    case 'start':
      await runRepl(await sampleDatabase(client));
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
    console.log('Created the sample database "sample" in ./data (films and the people who made them).');
  }
  return conn;
}

class UsageError extends Error {}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) console.error(`error: ${error.message}\n${usage}`);
  else if (isFactumError(error)) console.error(`error [${error.code}]: ${error.message}`);
  else console.error(`error: ${(error as Error)?.stack ?? String(error)}`);
  process.exitCode = 1;
});
