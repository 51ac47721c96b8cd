// `keys show`: the public key that nodes pin to trust manifests.

import { join } from 'node:path'
import { Command } from 'commander'
import { loadOrCreateSigningKey, PUBLIC_KEY_FILE } from '../../seeder/store/keys.ts'
import { type CommonOpts, common, context, printJson } from '../shared.ts'

export function keysCommands(): Command {
  const cmd = new Command('keys').description("the store's manifest-signing key (ed25519)")
  common(cmd.command('show'))
    .description('print the public key and its id (creates the key pair on first use)')
    .action(async (o: CommonOpts) => {
      const { store } = context(o)
      const k = await loadOrCreateSigningKey(store.keysDir)
      const file = join(store.keysDir, PUBLIC_KEY_FILE)
      if (o.json) return printJson({ keyId: k.id, publicKeyFile: file, publicKeyPem: k.publicPem })
      process.stdout.write(`key id: ${k.id}\nfile:   ${file}\n${k.publicPem}`)
    })
  return cmd
}
