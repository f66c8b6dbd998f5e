//! Faults injected into a correct list-append history, each chosen (from a seed) where the
//! history itself proves it wrong, so that a checker that misses it is the one at fault:
//!
//!   drop-element   a read loses a non-last element that a longer read of the key also holds
//!                  → the two reads disagree on the order (incompatible-order)
//!   swap-elements  a read swaps two adjacent elements that a longer read holds in order
//!                  → incompatible-order
//!   failed-read    a read ends with a value whose transaction failed → G1a
//!   lose-append    an acknowledged append vanishes from every read, and some transaction that
//!                  began after its acknowledgement read the key → lost-append (strict)
import type { AnomalyKind } from './list-append.ts';
import type { MicroOp, Op } from './history.ts';

export type FaultKind = 'drop-element' | 'swap-elements' | 'failed-read' | 'lose-append';

export interface InjectedFault {
  readonly ops: Op[];
  readonly description: string;
  /** The anomaly a checker must report for it. */
  readonly expected: AnomalyKind;
}

interface ReadSite {
  readonly op: Op;
  readonly position: number;
  readonly key: string;
  readonly value: readonly number[];
}

function readSites(history: readonly Op[]): ReadSite[] {
  return history.flatMap((op) =>
    op.type !== 'ok' ? [] : op.txn.flatMap((m, position) => (m[0] === 'r' && m[2] !== null ? [{ op, position, key: m[1], value: m[2] }] : [])),
  );
}

function ownAppends(op: Op, key: string): Set<number> {
  return new Set(op.txn.flatMap((m) => (m[0] === 'append' && m[1] === key ? [m[2]] : [])));
}

function withRead(history: readonly Op[], site: ReadSite, value: readonly number[]): Op[] {
  const txn = site.op.txn.map((m, i): MicroOp => (i === site.position ? ['r', site.key, value] : m));
  return history.map((op) => (op === site.op ? { ...op, txn } : op));
}

/** Injects one fault of the kind, or answers null when the history offers no place for it. */
export function injectFault(history: readonly Op[], kind: FaultKind, random: () => number): InjectedFault | null {
  const pickOf = <T>(items: readonly T[]): T | null => (items.length === 0 ? null : items[Math.floor(random() * items.length)]!);
  const sites = readSites(history);
  switch (kind) {
    case 'drop-element': {
      // Element i of a read, not its last, held by some other read too (longer than i).
      const choices = sites.flatMap((site) => {
        const others = sites.filter((s) => s !== site && s.key === site.key);
        const own = ownAppends(site.op, site.key);
        return site.value.slice(0, -1).flatMap((v, i) => (!own.has(v) && others.some((s) => s.value.length > i) ? [{ site, i }] : []));
      });
      const choice = pickOf(choices);
      if (choice === null) return null;
      const { site, i } = choice;
      const value = site.value.filter((_, j) => j !== i);
      return { ops: withRead(history, site, value), description: `#${site.op.index} reads ${site.key} without its element ${site.value[i]}`, expected: 'incompatible-order' };
    }
    case 'swap-elements': {
      const choices = sites.flatMap((site) => {
        const others = sites.filter((s) => s !== site && s.key === site.key);
        return site.value.slice(0, -1).flatMap((_, i) => (others.some((s) => s.value.length > i) ? [{ site, i }] : []));
      });
      const choice = pickOf(choices);
      if (choice === null) return null;
      const { site, i } = choice;
      const value = [...site.value];
      [value[i], value[i + 1]] = [value[i + 1]!, value[i]!];
      return { ops: withRead(history, site, value), description: `#${site.op.index} reads ${site.key} with ${site.value[i]} and ${site.value[i + 1]} swapped`, expected: 'incompatible-order' };
    }
    case 'failed-read': {
      const failed = history.flatMap((op) => (op.type === 'fail' ? op.txn.flatMap((m) => (m[0] === 'append' ? [{ key: m[1], value: m[2] }] : [])) : []));
      const choice = pickOf(failed.flatMap((append) => sites.filter((s) => s.key === append.key).map((site) => ({ append, site }))));
      if (choice === null) return null;
      const { append, site } = choice;
      return { ops: withRead(history, site, [...site.value, append.value]), description: `#${site.op.index} reads ${site.key} ending in ${append.value}, a failed append`, expected: 'G1a' };
    }
    case 'lose-append': {
      const invokeOf = invocationIndexes(history);
      const choices = history.flatMap((op) =>
        op.type !== 'ok'
          ? []
          : op.txn.flatMap((m) => (m[0] === 'append' && sites.some((s) => s.key === m[1] && invokeOf.get(s.op)! > op.index) ? [{ key: m[1], value: m[2] }] : [])),
      );
      const choice = pickOf(choices);
      if (choice === null) return null;
      const ops = history.map((op): Op => {
        if (op.type !== 'ok') return op;
        const txn = op.txn.map((m): MicroOp => (m[0] === 'r' && m[1] === choice.key && m[2] !== null ? ['r', m[1], m[2].filter((v) => v !== choice.value)] : m));
        return { ...op, txn };
      });
      return { ops, description: `the acknowledged append of ${choice.value} to ${choice.key} vanishes from every read`, expected: 'lost-append' };
    }
  }
}

/** Each completion's invocation index. */
function invocationIndexes(history: readonly Op[]): Map<Op, number> {
  const pending = new Map<number, number>();
  const invokeOf = new Map<Op, number>();
  for (const op of history) {
    if (op.type === 'invoke') pending.set(op.process, op.index);
    else invokeOf.set(op, pending.get(op.process)!);
  }
  return invokeOf;
}
