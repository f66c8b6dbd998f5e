// Timing helpers shared by the benchmarks.

/** Milliseconds per run of `fn`, running it for about `ms`. */
export function perRun(fn: () => unknown, ms: number): number {
  let runs = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    fn();
    runs++;
    now = performance.now();
  }
  return (now - start) / runs;
}

/** The middle value (the upper one of an even count). */
export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}
