// `imgswarm demo`: the README's first command. Today it runs the image
// pipeline on a sample tree (import, pack, verify, list, safe extract); the
// fleet issue turns it into a simulated fleet reimage.
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { makeSampleTree } from '../demo/sample-tree.ts'

function run(args: string[], store: string): void {
  process.stderr.write(`\n$ imgswarm ${args.join(' ')}\n`)
  const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1] as string, ...args, '--store', store], {
    stdio: 'inherit',
  })
  if (r.status !== 0) throw new Error(`imgswarm ${args[0]} ${args[1]} failed (exit ${r.status}); see above`)
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('show the whole image pipeline on a sample tree: import, pack, verify, list, extract')
    .option('--store <dir>', 'store to use (default: a new temporary directory, removed afterwards)')
    .option('--keep', 'keep the temporary store and extracted tree')
    .action(async (o: { store?: string; keep?: boolean }) => {
      const work = await mkdtemp(join(tmpdir(), 'imgswarm-demo-'))
      const store = o.store ?? join(work, 'store')
      try {
        const tree = join(work, 'sample-rootfs')
        process.stderr.write(`imgswarm demo: building a sample tree in ${tree}\n`)
        for (const n of await makeSampleTree(tree)) process.stderr.write(`note: ${n}\n`)
        run(['image', 'import', tree, 'sample', '--note', 'demo sample tree'], store)
        run(['image', 'pack', 'sample', '--compress', 'zstd', '--announce', 'http://127.0.0.1:8470/announce'], store)
        run(['image', 'verify', 'sample'], store)
        run(['image', 'list'], store)
        const out = join(work, 'extracted')
        const archive = join(store, 'packed/images/sample@1.tar.zst')
        run(['archive', 'extract', archive, out], store)
        const sparse = await stat(join(out, 'var/lib/app/disk.img'))
        const suid = await stat(join(out, 'usr/bin/su-helper'))
        process.stderr.write(
          `\ndemo done: the 64 MiB sparse file came back with ${sparse.size} bytes in ${sparse.blocks * 512} allocated; ` +
            `su-helper mode ${(suid.mode & 0o7777).toString(8)}.\n` +
            (o.keep || o.store ? `store: ${store}\nextracted: ${out}\n` : ''),
        )
      } finally {
        if (!o.keep) {
          await rm(work, { recursive: true, force: true })
        }
      }
    })
}
