// Pull: the public surface of nodes/pull (see pull.ts for the semantics of results).
export { pull, pullMany, pullerFor, resolveEntity, type PullResult } from './pull.ts';
export { indexPull, type IndexPullOptions } from './index-pull.ts';
export { parsePattern, DEFAULT_LIMIT, type PullPattern, type AttributeSpec, type Subpattern, type Recursion, type PullNode } from './pattern.ts';
export { toPattern, type PatternInput } from './pattern-input.ts';
export { registerXform, unregisterXform, type XformFunction } from './xform.ts';
