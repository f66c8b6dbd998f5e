/** Bugs crash: an assertion that fails means factum itself is wrong, never the user's input. */
export class AssertionError extends Error {
  override name = 'AssertionError';
}

/**
 * Throws if `condition` is false. The message is built on every call, even when the condition
 * holds: in a hot path write `if (!condition) throw new AssertionError(`...${x}`)` instead.
 */
export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function unreachable(value: never, message = 'unreachable'): never {
  throw new AssertionError(`${message}: ${String(value)}`);
}
