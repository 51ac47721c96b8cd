// The node's variables: what post-install scripts get in their environment
// and what /etc/imgswarm/node.env records on the installed system.

export interface NodeVars {
  hostname: string | null
  /** Image name and version as installed. */
  image: string
  version: string
  /** Image server base URL. */
  server: string
  mac: string | null
  ip: string | null
  /** The block device installed to; null with --target-dir. */
  disk: string | null
}

/** IMGSWARM_* names and values, in a fixed order; unknown values are empty strings. */
export function nodeEnv(vars: NodeVars): Record<string, string> {
  return {
    IMGSWARM_HOSTNAME: vars.hostname ?? '',
    IMGSWARM_IMAGE: vars.image,
    IMGSWARM_VERSION: vars.version,
    IMGSWARM_SERVER: vars.server,
    IMGSWARM_MAC: vars.mac ?? '',
    IMGSWARM_IP: vars.ip ?? '',
    IMGSWARM_DISK: vars.disk ?? '',
  }
}
