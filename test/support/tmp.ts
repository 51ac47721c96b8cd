// Temporary directories that are removed after each test, pass or fail.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'vitest'

const made: string[] = []

afterEach(async () => {
  while (made.length > 0) await rm(made.pop() as string, { recursive: true, force: true })
})

export async function tempDir(prefix = 'imgswarm-test-'): Promise<string> {
  const d = await mkdtemp(join(process.env.IMGSWARM_TEST_TMP ?? tmpdir(), prefix))
  made.push(d)
  return d
}

export const isRoot = process.getuid?.() === 0
