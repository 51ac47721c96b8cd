// The safe extractor's public surface.

export { quotePath, sanitizeEntryPath, showPath } from '../paths.ts'
export type { ReadEntry, ReaderLimits } from '../tar/reader.ts'
export { type ExtractOptions, type ExtractResult, extractArchive } from './extract.ts'
export { type ListOptions, listArchive } from './list.ts'
export { type ArchiveSource, type OpenOptions, openArchive } from './open.ts'
