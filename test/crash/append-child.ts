// The process the crash test kills: appends to one log from several concurrent submitters, swaps a
// record and writes segments, printing each acknowledgement (after its promise resolved) on stdout.
// Usage: append-child <directory> <seed> <submitters>. Stops by itself after 30 s.
import { openLocalStorage } from '../../nodes/storage/local/local-storage.ts';
import { entryBytes } from './crash-entries.ts';

const [directory, seed, submitterCount] = process.argv.slice(2);
setTimeout(() => process.exit(3), 30_000).unref();

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

const storage = await openLocalStorage(directory);
let stopped = false;

async function appender(submitter: number): Promise<void> {
  for (let attempt = 0; !stopped; attempt++) {
    const label = `${seed}-${submitter}-${attempt}`;
    const position = await storage.logLength('crash');
    if (await storage.appendLog('crash', position, entryBytes(label))) print(`ack ${position} ${label}`);
  }
}

async function swapper(): Promise<void> {
  while (!stopped) {
    const current = await storage.getRecord('counter');
    const version = (current?.version ?? 0) + 1;
    if (await storage.casRecord('counter', current?.version ?? null, entryBytes(`record-${version}`))) {
      print(`record ${version}`);
    }
  }
}

async function segmentWriter(): Promise<void> {
  for (let count = 0; !stopped; count++) {
    const label = `segment-${seed}-${count}`;
    await storage.putSegment(`crash/${label}`, entryBytes(label));
    print(`segment ${label}`);
  }
}

process.stdout.on('error', () => {
  stopped = true;
  process.exit(4);
});
print('ready');
const submitters = Array.from({ length: Number(submitterCount) }, (_, index) => appender(index));
await Promise.all([...submitters, swapper(), segmentWriter()]);
