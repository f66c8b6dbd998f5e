// Segments: the envelope (compression, checksum, content address) and the codecs of tree nodes.
export { addressOf, matchesAddress, openSegment, sealSegment, SEGMENT_BODY_MAX } from './envelope.ts';
export type { Compression, OpenedSegment, SealedSegment, SegmentKind } from './envelope.ts';
export { nodeCodec } from './node-codec.ts';
export type { KeyColumns, NodeCodec } from './node-codec.ts';
export { datomColumns, datomNodeCodec, DATOM_BRANCH_MAX, DATOM_COMPRESSION, DATOM_LEAF_MAX } from './datom-codec.ts';
export { SegmentDatom } from './datom-columns.ts';
