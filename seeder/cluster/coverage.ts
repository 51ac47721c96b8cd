// Checks that need the whole file: every node the file names gets an image,
// and an auto_enrol group gives one to whoever joins it.
import type { KeyPath } from './positions.ts'
import { expandHostPattern } from './range.ts'
import { ClusterIndex } from './resolve.ts'
import type { ClusterConfig } from './types.ts'

export function checkCoverage(cfg: ClusterConfig, fail: (path: KeyPath, message: string) => void): void {
  const index = new ClusterIndex(cfg)
  const hasImage = (hostname: string | undefined, mac: string | undefined) => {
    const host = index.host({ hostname, mac, ip: undefined })
    const id = { hostname: host?.hostname ?? hostname, mac: host?.mac ?? mac, ip: undefined }
    return index.resolveWith(id, host, index.groupsOf(id, host)).image !== undefined
  }
  const globalImage = cfg.global.image !== undefined

  cfg.hosts.forEach((h, i) => {
    if (globalImage || h.image) return
    if (!index.resolveWith(h, h, index.groupsOf(h, h)).image) {
      fail(
        ['host', i],
        `host ${h.label} gets no image: it is in no group that sets one, and neither it nor [global] sets one (add image = "..." here, or put it in a group)`,
      )
    }
  })

  cfg.groups.forEach((g, gi) => {
    if (globalImage || g.image) return
    if (g.autoEnrol) {
      fail(
        ['group', gi, 'auto_enrol'],
        `group ${g.name} enrols nodes by itself but gives them no image: set image here or in [global]`,
      )
    }
    g.hosts.forEach((p, pi) => {
      for (const n of expandHostPattern(p)) {
        if (hasImage(n, undefined)) continue
        fail(
          ['group', gi, 'hosts', pi],
          `${n}${n === p.text ? '' : ` (from ${p.text})`} gets no image: group ${g.name} sets none, nor does [global], any other group of it or a [[host]] entry`,
        )
        return
      }
    })
    g.macs.forEach((m, mi) => {
      if (!hasImage(undefined, m)) {
        fail(
          ['group', gi, 'macs', mi],
          `${m} gets no image: group ${g.name} sets none, nor does [global], any other group of it or a [[host]] entry`,
        )
      }
    })
  })
}
