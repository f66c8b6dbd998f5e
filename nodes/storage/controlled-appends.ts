//! A fault-injecting storage for tests of the transactor's write path: memory storage whose
//! append n (from 1) first waits for `control(n)`, then appends ('ok') or throws without writing
//! ('fail'). `entered(n)` resolves once append n has begun, so a test can act while it waits.
import { FactumError } from '../util/errors.ts';
import { createMemoryStorage } from './memory/memory-storage.ts';
import type { Storage } from './protocol.ts';

/** A promise and the function that resolves it. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

export function controlledAppends(control: (n: number) => Promise<'ok' | 'fail'>): { storage: Storage; appends: () => number; entered: (n: number) => Promise<void> } {
  const inner = createMemoryStorage();
  const begun = new Map<number, ReturnType<typeof gate>>();
  const begunGate = (n: number) => begun.get(n) ?? (begun.set(n, gate()), begun.get(n)!);
  let n = 0;
  const storage = new Proxy(inner, {
    get(target, property) {
      if (property === 'appendLog') {
        return async (log: string, position: number, bytes: Uint8Array) => {
          const mine = ++n;
          begunGate(mine).open();
          if ((await control(mine)) === 'fail') throw new FactumError('storage/unavailable', 'injected: the log write failed', { position });
          return inner.appendLog(log, position, bytes);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as Storage;
  return { storage, appends: () => n, entered: (k) => begunGate(k).promise };
}
