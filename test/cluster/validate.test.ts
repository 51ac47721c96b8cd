// Validation: every problem at once, each at the line and column of the key
// to change; TOML syntax errors with their position; hostile files (huge,
// deeply nested, giant ranges) refused quickly with a clear message.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CLUSTER_EXAMPLE, type Diagnostic, MAX_FILE_BYTES, parseCluster } from '../../seeder/cluster/index.ts'
import { GPT_EXAMPLE } from '../layout/fixtures.ts'
import { tempDir } from '../support/tmp.ts'

const at = (d: Diagnostic[]) => d.map((x) => `${x.line}:${x.col} ${x.message}`)

/** Finds the 1-based line and column of the n-th occurrence of a marker. */
function where(text: string, marker: string, nth = 0): string {
  let off = -1
  for (let i = 0; i <= nth; i++) off = text.indexOf(marker, off + 1)
  if (off < 0) throw new Error(`no ${marker}`)
  const before = text.slice(0, off).split('\n')
  return `${before.length}:${(before.at(-1) as string).length + 1}`
}

describe('cluster config validation', () => {
  it('accepts the example that cluster init writes', () => {
    expect(parseCluster(CLUSTER_EXAMPLE, '/x/cluster.toml').diagnostics).toEqual([])
  })

  it('lists every problem, each at the key to change', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'good.toml'), GPT_EXAMPLE)
    await writeFile(join(dir, 'bad.toml'), 'table = "gpt"\n[[partition]]\nlabel = "root"\nsize = "grow"\nfs = "zfs"\n')
    const text = `# a cluster file with one mistake of each kind
[global]
image = "base"
colour = "blue"
post = "explode"

[[group]]
name = "compute"
priority = 10
layout = "good.toml"
hosts = ["node[001-128]",
  "node[010-001]", "node[01-100]"]
macs = ["52:54:00:zz:00:01"]

[[group]]
name = "compute"
priority = 1.5
layout = "missing.toml"

[[group]]
name = "gpu"
layout = "bad.toml"
auto_enrol = "yes"
hosts = ["x[0-99999999]"]

[[host]]
hostname = "node001"
mac = "52:54:00:12:34:56"

[[host]]
hostname = "node002"
mac = "52-54-00-12-34-56"
groups = ["nope"]
image = "has space"

[[host]]
ip = "10.0.0.300"

[extra]
`
    const file = join(dir, 'cluster.toml')
    const d = parseCluster(text, file).diagnostics
    expect(d.every((x) => x.file === file)).toBe(true)
    const got = at(d)
    const expectAt = (marker: string, message: RegExp, nth = 0) => {
      const pos = where(text, marker, nth)
      const hit = got.find((g) => g.startsWith(`${pos} `) && message.test(g))
      expect(hit, `${pos} ${message} in\n${got.join('\n')}`).toBeDefined()
    }
    expectAt('colour', /unknown key "colour" in \[global\]/)
    expectAt('post = "explode"', /unknown post-action "explode": use one of reboot, poweroff, kexec, shell, none/)
    expectAt('"node[010-001]"', /runs backwards/)
    expectAt('"node[01-100]"', /mismatched widths/)
    expectAt('"52:54:00:zz:00:01"', /not a MAC address/)
    expectAt('name = "compute"', /duplicate group name "compute" \(first defined on line 8\)/, 1)
    expectAt('priority = 1.5', /priority must be a whole number/)
    expectAt('layout = "missing.toml"', /cannot read .*missing\.toml \(ENOENT\)/)
    expectAt('layout = "bad.toml"', /layout "bad\.toml": disk layout .*bad\.toml: .*zfs/)
    expectAt('auto_enrol', /auto_enrol must be true or false/)
    expectAt('"x[0-99999999]"', /more than 100,000 hosts/)
    expectAt('mac = "52-54-00-12-34-56"', /mac 52:54:00:12:34:56 is already used by the host on line 26/)
    expectAt('"nope"', /no group is named "nope"/)
    expectAt('image = "has space"', /invalid image name/)
    expectAt('ip = "10.0.0.300"', /not an IPv4 or IPv6 address/)
    expectAt('[extra]', /unknown key "extra" in the file/)
    expect(d).toHaveLength(16)
    // Sorted by position, so a person can work down the file.
    expect([...d].sort((a, b) => a.line - b.line || a.col - b.col)).toEqual(d)
  })

  it('points at a host in no group with no image, and at group members that get none', () => {
    const text = `[[group]]
name = "overlay"
overrides = ["ib"]
hosts = ["ib[1-4]"]

[[group]]
name = "imaged"
image = "base"
hosts = ["ib[1-3]"]

[[group]]
name = "new"
auto_enrol = true

[[host]]
hostname = "lonely"
`
    const got = at(parseCluster(text, '/x/c.toml').diagnostics)
    expect(got).toEqual([
      `4:10 ib4 (from ib[1-4]) gets no image: group overlay sets none, nor does [global], any other group of it or a [[host]] entry`,
      '13:1 group new enrols nodes by itself but gives them no image: set image here or in [global]',
      '15:1 host lonely gets no image: it is in no group that sets one, and neither it nor [global] sets one (add image = "..." here, or put it in a group)',
    ])
  })

  it('warns, without failing, when groups of equal priority disagree for a node', () => {
    const text = `[global]\nimage = "base"\n
[[group]]\nname = "a"\npriority = 5\nimage = "x"\nhosts = ["n[1-4]"]\n
[[group]]\nname = "b"\npriority = 5\nimage = "y"\npost = "none"\nhosts = ["n[3-9]"]\n
[[group]]\nname = "c"\npriority = 6\nimage = "z"\nhosts = ["n1"]\n`
    const r = parseCluster(text, '/x/c.toml')
    expect(r.diagnostics).toEqual([])
    expect(r.config).toBeDefined()
    expect(at(r.warnings)).toEqual([
      '13:1 groups a (line 4) and b both have priority 5 and set a different image for n3: b wins because it comes later in the file; give them different priorities to say so',
    ])
  })

  it('gives TOML syntax errors with their line and column', () => {
    const d = parseCluster('[global]\nimage = "base"\n\n[[group]]\nname = "a\n', '/x/c.toml').diagnostics
    expect(d).toHaveLength(1)
    expect(d[0]).toMatchObject({ file: '/x/c.toml', line: 5 })
    expect(d[0]?.col).toBeGreaterThan(0)
    expect(d[0]?.message).toMatch(/^not valid TOML: /)
    const dup = parseCluster('[global]\nimage = "a"\n[global]\n', '/x/c.toml').diagnostics
    expect(dup[0]?.line).toBe(3)
  })

  it('finds keys written as quoted, dotted or inline tables', () => {
    const text = `global.image = "base"\n"global".'colour' = 1\n[[group]]\nname = "a"\nhosts = [\n  # comment\n  "ok1",\n  "b[2-1]", ]\n`
    expect(at(parseCluster(text, '/x/c.toml').diagnostics)).toEqual([
      '2:1 unknown key "colour" in [global] (allowed: image, overrides, layout, post)',
      '8:3 bad host range: b[2-1]: range 2-1 runs backwards (write 1-2)',
    ])
  })

  describe('hostile files', () => {
    // Timings are printed, never asserted: speed belongs in a benchmark.
    const timed = (what: string, f: () => Diagnostic[]) => {
      const t = performance.now()
      const d = f()
      console.log(`${what}: ${(performance.now() - t).toFixed(0)} ms, ${d.length} problem(s)`)
      return d
    }

    it('refuses a file over the size limit before parsing it', () => {
      const text = `# ${'x'.repeat(MAX_FILE_BYTES)}\n`
      const d = timed('17 MiB file', () => parseCluster(text, '/x/c.toml').diagnostics)
      expect(d).toHaveLength(1)
      expect(d[0]?.message).toMatch(/more than the limit of 16777216 \(16 MiB\)/)
    })

    it('refuses more [[host]]/[[group]] tables than the limit before parsing them', () => {
      const text = '[[host]]\nhostname = "a"\n'.repeat(100_001)
      const d = timed('100,001 host tables', () => parseCluster(text, '/x/c.toml').diagnostics)
      expect(d).toHaveLength(1)
      expect(d[0]?.message).toMatch(/100001 \[\[group\]\]\/\[\[host\]\] tables, more than the limit of 100000/)
    })

    it('refuses deep nesting with a position', () => {
      const text = `[global]\nimage = ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`
      const d = timed('nesting 100,000 deep', () => parseCluster(text, '/x/c.toml').diagnostics)
      expect(d).toHaveLength(1)
      expect(d[0]?.line).toBe(2)
      expect(d[0]?.message).toMatch(/not valid TOML/)
    })

    it('refuses giant ranges at once and caps the whole file', () => {
      const giant = timed(
        'r[0-999999999]-n[0-999999999]',
        () =>
          parseCluster(
            '[global]\nimage="b"\n[[group]]\nname="g"\nhosts=["r[0-999999999]-n[0-999999999]"]\n',
            '/x/c.toml',
          ).diagnostics,
      )
      expect(giant[0]?.message).toMatch(/more than 100,000 hosts \(the limit\)/)
      const many = Array.from({ length: 30 }, (_, i) => `"g${i}n[00001-05000]"`).join(', ')
      const d = timed(
        '30 ranges of 5,000',
        () => parseCluster(`[global]\nimage="b"\n[[group]]\nname="g"\nhosts=[${many}]\n`, '/x/c.toml').diagnostics,
      )
      expect(d).toHaveLength(1)
      expect(d[0]?.message).toMatch(
        /^g20n\[00001-05000\]: the file's host ranges stand for more than 100,000 hosts in all/,
      )
    })

    it('handles 20,000 host entries and 100,000 range members', async () => {
      const dir = await tempDir()
      await mkdir(dir, { recursive: true })
      const hosts = Array.from(
        { length: 20_000 },
        (_, i) =>
          `[[host]]\nhostname = "h${i}"\nmac = "02:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}"\n`,
      ).join('\n')
      const text = `[global]\nimage = "base"\n[[group]]\nname = "all"\nhosts = ["n[000001-100000]"]\n\n${hosts}`
      const d = timed(
        `${(text.length / 1e6).toFixed(1)} MB, 20,000 hosts, 100,000 range members`,
        () => parseCluster(text, join(dir, 'c.toml')).diagnostics,
      )
      expect(d).toEqual([])
    })

    it('never throws on arbitrary text', () => {
      const samples = [
        '',
        '=',
        '[',
        '[[',
        '[[group]]\n[[group]]\nname=1',
        'global = 1',
        'group = {}',
        'host = [1, 2]',
        '\u0000',
      ]
      for (const s of samples) {
        const r = parseCluster(s, '/x/c.toml')
        expect(Array.isArray(r.diagnostics)).toBe(true)
      }
    })
  })
})
