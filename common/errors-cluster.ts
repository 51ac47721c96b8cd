// Error codes of the cluster config (seeder/cluster, `imgswarm cluster`).
import { define, USAGE } from './error-core.ts'

/** Problems listed in full in the message; the rest are counted. */
const SHOWN = 20

export const clusterErrors = {
  // Same code as other config files: the API answers 422 for it on reload.
  clusterInvalid: define(
    'IMGSWARM_ERR_CONFIG',
    USAGE,
    (file: string, problems: { line: number; col: number; message: string }[]) => {
      const lines = problems.slice(0, SHOWN).map((p) => `  ${file}:${p.line}:${p.col}: ${p.message}`)
      if (problems.length > SHOWN) lines.push(`  … and ${problems.length - SHOWN} more`)
      return {
        message: `cluster config ${file} has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${lines.join('\n')}`,
        hint: `fix them (imgswarm cluster validate ${file} lists them all); a running server keeps the config it had`,
      }
    },
  ),
  clusterEdit: define('IMGSWARM_ERR_CLUSTER_EDIT', 1, (detail: string, hint?: string) => ({
    message: `cluster edit: ${detail}`,
    hint:
      hint ??
      'the cluster file was not changed; set EDITOR (or VISUAL) to an editor that waits until you close the file',
  })),
}
