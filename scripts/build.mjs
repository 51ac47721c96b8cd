// Bundles the CLI into dist/imgswarm.mjs. Node strips TypeScript types itself,
// but not for files under node_modules, so a global or packaged install needs
// this bundle. In a checkout without esbuild (production install), it is a no-op.
import { existsSync } from 'node:fs'

let esbuild
try {
  esbuild = await import('esbuild')
} catch {
  if (!existsSync(new URL('../dist/imgswarm.mjs', import.meta.url))) {
    console.error('imgswarm build: esbuild not installed; bin/imgswarm will run the TypeScript sources directly')
  }
  process.exit(0)
}
await esbuild.build({
  entryPoints: [new URL('../cli/main.ts', import.meta.url).pathname],
  outfile: new URL('../dist/imgswarm.mjs', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
  banner: { js: '// imgswarm CLI bundle: built by scripts/build.mjs; do not edit' },
})
