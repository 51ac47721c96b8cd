// Whether a program is on the PATH: tests decide at load time whether they can run.
import { spawnSync } from 'node:child_process'

export function haveTool(tool: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' }).status === 0
}
