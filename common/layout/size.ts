// Partition sizes: "512MiB", "20GiB", "5%", "grow". Strict on purpose: a
// typo such as "512MB" (decimal megabytes) or "1.5GiB" must not silently
// become some other size on hundreds of disks.
import type { Size } from './types.ts'

/** Largest fixed size we accept: 1 PiB, far above any disk and far below Number's exact range. */
export const MAX_SIZE_MIB = 1024 * 1024 * 1024

const SIZE_RE = /^([1-9][0-9]{0,9})(MiB|GiB|%)$/

export const SIZE_RULE =
  'a whole number followed by MiB or GiB (e.g. "512MiB", "20GiB"), a percent of the disk from 1% to 100% (e.g. "5%"), or "grow"'

/** Parses a size; returns undefined when the text is not one (the caller words the error). */
export function parseSize(text: string): Size | undefined {
  if (text === 'grow') return { unit: 'grow' }
  const m = SIZE_RE.exec(text)
  if (m === null) return undefined
  const value = Number(m[1])
  const unit = m[2] as 'MiB' | 'GiB' | '%'
  if (unit === '%' && value > 100) return undefined
  if (unit !== '%' && sizeMiB({ unit, value }) > MAX_SIZE_MIB) return undefined
  return { unit, value }
}

export function formatSize(size: Size): string {
  return size.unit === 'grow' ? 'grow' : `${size.value}${size.unit}`
}

/** MiB of a fixed size (MiB or GiB). */
export function sizeMiB(size: { unit: 'MiB' | 'GiB'; value: number }): number {
  return size.unit === 'GiB' ? size.value * 1024 : size.value
}
