//! Errors across a thread boundary (postMessage): a FactumError keeps its code, message and
//! data; any error keeps its name, message and stack. Shared by the index worker's protocol
//! (nodes/indexer/worker-protocol.ts) and the storage proxy's (nodes/storage/proxy/proxy-protocol.ts).
import { FactumError, isFactumError } from './errors.ts';

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly data?: Record<string, unknown>;
  readonly stack?: string;
}

/** `data` if it survives a structured clone, else only its plain fields that do. */
function cloneable(data: Readonly<Record<string, unknown>>): Record<string, unknown> {
  try {
    return structuredClone({ ...data });
  } catch {
    return Object.fromEntries(Object.entries(data).filter(([, value]) => ['string', 'number', 'boolean'].includes(typeof value) || value === null));
  }
}

export function serializeError(error: unknown): SerializedError {
  if (isFactumError(error)) return { name: error.name, message: error.message, code: error.code, data: cloneable(error.data), stack: error.stack };
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: String(error) };
}

/** The error again, on the other side: a FactumError keeps its code, message and data. */
export function deserializeError(error: SerializedError): Error {
  if (error.code !== undefined) return new FactumError(error.code as never, error.message, error.data ?? {});
  const out = new Error(error.message);
  out.name = error.name;
  if (error.stack !== undefined) out.stack = error.stack;
  return out;
}
