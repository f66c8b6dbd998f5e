// The indexer: durable trees from novelty, the root record, garbage collection.
export { Indexer, treeAddresses } from './indexer.ts';
export type { GcResult, IndexerOptions, IndexInput, IndexOutcome, TreeKind } from './indexer.ts';
export { decodeRoot, encodeRoot, rootKey, segmentPrefix } from './root.ts';
export type { IndexRoot, IndexTrees, RetiredRoot, TreePair } from './root.ts';
export type { AttributeFacts, LoggedTransaction } from './novelty.ts';
export { bootstrapTransaction, indexInputOf, schemaFacts } from './db-input.ts';
export { currentOrders, datomProbe, historyOrders } from './datom-order.ts';
export { BackgroundIndexer, datomBytes } from './background-indexer.ts';
export type { BackgroundIndexerOptions } from './background-indexer.ts';
