// The archive index (docs/archive-index.md): where every entry of an
// uncompressed image archive lies, for in-place extraction on the node.
export { buildIndex, extentsOf, indexEntryOf } from './build.ts'
export { encodeIndex } from './encode.ts'
export { MAX_EXTENTS } from './entry.ts'
export { MAX_ENTRIES, type ParseIndexOptions, parseIndex } from './parse.ts'
export { asTable, IndexTable } from './table.ts'
export { type ArchiveIndex, type Extent, INDEX_SCHEMA, type IndexEntry } from './types.ts'
