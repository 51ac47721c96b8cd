// One full garbage collection, once: after the archive index is parsed and
// the tree laid out, tens of MB of short-lived objects (the parser's and the
// checks' path sets) are dead, but V8 keeps their pages until some later
// collection, which would then come on top of the download's piece buffers
// and set the peak resident size. V8 exposes gc() only behind a flag, which
// can be set at run time for a fresh context.
import v8 from 'node:v8'
import vm from 'node:vm'

let gc: (() => void) | undefined

export function collectGarbage(): void {
  try {
    if (!gc) {
      v8.setFlagsFromString('--expose-gc')
      gc = vm.runInNewContext('gc') as () => void
    }
    gc()
  } catch {
    // Only a memory hint: without it the collector runs when it likes.
  }
}
