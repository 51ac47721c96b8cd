// The client for the boot image: the whole CLI in one self-contained ES
// module (esbuild), dependencies included, because the initramfs has no
// node_modules. webrtc-polyfill is our TCP-only stub (as in package.json
// overrides), so the native node-datachannel is never needed; utp-native (a
// native addon we switch off) becomes an empty module.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { errors } from '../common/errors.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const STUB_DIR = `${ROOT}vendor/webrtc-polyfill-stub`
/** Optional native speed-ups that ws and webtorrent try and do without. */
const OPTIONAL_NATIVE = ['bufferutil', 'utf-8-validate']
/** Used only by `boot build` itself, never on a node. */
const BUILD_ONLY = ['esbuild']

export async function bundleClient(outfile: string): Promise<Buffer> {
  let esbuild: typeof import('esbuild')
  try {
    esbuild = await import('esbuild')
  } catch {
    throw errors.bootBuild(
      'esbuild is not installed, so the client cannot be bundled',
      'run boot build from a checkout with its dev dependencies (npm install)',
    )
  }
  const result = await esbuild.build({
    entryPoints: [`${ROOT}cli/main.ts`],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    alias: { 'webrtc-polyfill': STUB_DIR },
    external: [...OPTIONAL_NATIVE, ...BUILD_ONLY],
    absWorkingDir: ROOT,
    legalComments: 'none',
    logLevel: 'silent',
    // Bundled CommonJS code calls require(); give the ES module one.
    banner: {
      js: "// imgswarm client for the boot image: built by imgswarm boot build\nimport { createRequire as __imgswarmRequire } from 'node:module'\nconst require = __imgswarmRequire(import.meta.url)",
    },
    plugins: [
      {
        name: 'imgswarm-no-utp',
        setup(build) {
          build.onResolve({ filter: /^utp-native$/ }, () => ({ path: 'utp-native', namespace: 'imgswarm-empty' }))
          build.onLoad({ filter: /.*/, namespace: 'imgswarm-empty' }, () => ({
            contents: 'module.exports = {}',
            loader: 'js',
          }))
        },
      },
    ],
  })
  if (result.errors.length > 0) throw errors.bootBuild(`bundling the client failed: ${result.errors[0]?.text}`)
  const code = await readFile(outfile)
  // The stub is what keeps the native addon out: it must not be referenced at all, and the
  // stub module must be in. (Both names are spelled in pieces so this check does not find itself.)
  const text = code.toString('utf8')
  if (text.includes(['node', 'datachannel'].join('-')))
    throw errors.bootBuild('the bundle refers to the native WebRTC addon: the WebRTC stub was not used')
  if (!text.includes(['\n//', 'vendor/webrtc-polyfill-stub/index.js\n'].join(' ')))
    throw errors.bootBuild('the WebRTC stub is missing from the bundle')
  return code
}
