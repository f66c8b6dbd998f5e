// The query API: q, query, qseq, explain, and registration of user functions and aggregates.
export { q, query, qseq, explain, parse, type QueryArgs, type Explain } from './api.ts';
export { registerFunction, registerAggregate, unregister } from './registry.ts';
export type { Query } from './syntax.ts';
