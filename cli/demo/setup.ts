// The demo's image server store: the sample image and the `site` override
// imported and packed, a plans file with one [[node]] per node, a disk layout
// for --disks, and a serve config file.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { packVersion, Store } from '../../seeder/index.ts'
import { makeSampleImage, makeSiteOverride, type SampleImage } from './sample-image.ts'

export const IMAGE = 'sample'
export const IMAGE_REF = 'sample@1'

/** One ext4 root file system on an msdos table: GRUB for BIOS goes in the gap after the MBR. */
const LAYOUT = `table = "msdos"
[[partition]]
label = "root"
size = "grow"
fs = "ext4"
mount = "/"
`

export interface DemoStore {
  store: Store
  /** Where the sample tree was built (the source the nodes are checked against). */
  tree: string
  sample: SampleImage
  /** Size of the packed archive in bytes: F in the formulas. */
  archiveBytes: number
  pubkey: string
  adminTokenFile: string
  configFile: string
}

export interface StoreInit {
  work: string
  nodes: string[]
  dataMb: number
  postInstall: boolean
  disks: boolean
  /** serve.upload_limit in bytes per second; 0: none. */
  uploadLimit: number
  say: (line: string) => void
}

export async function prepareStore(o: StoreInit): Promise<DemoStore> {
  const tree = join(o.work, 'sample-rootfs')
  o.say(`building the sample image (${o.dataMb} MB) in ${tree}`)
  const sample = await makeSampleImage(tree, { dataMb: o.dataMb, postInstall: o.postInstall })
  const ovTree = join(o.work, 'site-override')
  await makeSiteOverride(ovTree)

  const store = new Store(join(o.work, 'store'))
  const pack = {
    compression: 'none' as const,
    pieceLength: 256 * 1024,
    // Placeholders: serve rewrites announce and url-list with its public URL.
    announce: ['http://127.0.0.1:1/announce'],
    webseeds: ['http://127.0.0.1:1/webseed/'],
  }
  o.say(`imgswarm image import ${tree} ${IMAGE_REF}; imgswarm image pack ${IMAGE}`)
  await store.import('image', tree, IMAGE_REF, { note: 'imgswarm demo sample image' })
  const packed = await packVersion(store, 'image', IMAGE_REF, pack)
  await store.import('override', ovTree, 'site@1', { note: 'imgswarm demo site override' })
  await packVersion(store, 'override', 'site@1', pack)

  const plans = [
    '# Written by imgswarm demo: every node gets the sample image and the site override.',
    '[defaults]',
    `image = "${IMAGE}"`,
    'overrides = ["site"]',
    'post = "none"',
    ...(o.disks ? ['layout = "layout.toml"'] : []),
    '',
    ...o.nodes.flatMap((n) => ['[[node]]', `hostname = "${n}"`, '']),
  ].join('\n')
  await writeFile(join(store.root, 'plans.toml'), plans)
  if (o.disks) await writeFile(join(store.root, 'layout.toml'), LAYOUT)
  const configFile = join(o.work, 'imgswarm.toml')
  await writeFile(
    configFile,
    `# Written by imgswarm demo.\n[serve]\nupload_limit = ${o.uploadLimit}  # bytes per second, 0: none\n`,
  )
  return {
    store,
    tree,
    sample,
    archiveBytes: packed.info.manifest.archive.size,
    pubkey: join(store.root, 'keys', 'manifest-signing.pub'),
    adminTokenFile: join(store.root, 'keys', 'admin.token'),
    configFile,
  }
}
