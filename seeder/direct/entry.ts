// How a plans file or cluster config marks an override direct (docs/secrets.md):
//   overrides = ["site", { name = "ssh-keys", direct = true }]
// An override marked direct anywhere is direct everywhere: it never enters a
// swarm, whichever plan names it.

/** The ref of an overrides-array entry: a string, or a { name, direct } table; undefined plus a problem if neither. */
export function overrideEntry(v: unknown): { ref: unknown; direct: boolean; problem?: string } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ref: v, direct: false }
  const t = v as Record<string, unknown>
  const bad = Object.keys(t).find((k) => k !== 'name' && k !== 'direct')
  if (bad !== undefined)
    return { ref: t.name, direct: false, problem: `unknown key ${JSON.stringify(bad)} (use name and direct)` }
  if (t.direct !== undefined && typeof t.direct !== 'boolean') {
    return { ref: t.name, direct: false, problem: 'direct must be true or false' }
  }
  return { ref: t.name, direct: t.direct === true }
}

/** The plan-source side: names of overrides marked direct. */
export interface DirectNames {
  directOverrides?(): ReadonlySet<string>
}
