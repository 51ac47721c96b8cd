// Lists an archive's entries without writing anything. Paths are reported as
// stored, hostile ones included: listing is how an operator inspects them.
import type { ReadEntry, ReaderLimits } from '../tar/reader.ts'
import { TarReader } from '../tar/reader.ts'

export interface ListOptions {
  signal?: AbortSignal
  limits?: Partial<ReaderLimits>
}

/** Each entry in archive order; data is skipped, so memory stays flat. */
export async function* listArchive(source: AsyncIterable<Buffer>, opts: ListOptions = {}): AsyncGenerator<ReadEntry> {
  const reader = new TarReader(source, opts.limits)
  try {
    for (;;) {
      opts.signal?.throwIfAborted()
      const e = await reader.next()
      if (e === undefined) return
      yield e
    }
  } finally {
    await reader.close()
  }
}
