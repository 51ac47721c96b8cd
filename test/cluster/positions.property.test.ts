// Line numbers by property: in randomly formatted files (comments, blank
// lines, quoted keys, arrays over several lines, strings holding brackets
// and '#'), a bad key or bad range is reported on the line where it is written.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseCluster } from '../../seeder/cluster/index.ts'
import { RUNS } from '../support/fuzz.ts'

const noise = fc.constantFrom('', '\n', '# a comment [[group]] = "x"\n', '\n\n# [global]\n')
const keyStyle = fc.constantFrom(
  (k: string) => k,
  (k: string) => `"${k}"`,
  (k: string) => `'${k}'`,
)

describe('positions (property)', () => {
  it('reports an unknown key and a bad range on the lines that hold them', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(noise, keyStyle, fc.boolean(), fc.integer({ min: 1, max: 50 })), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.nat(),
        fc.nat(),
        (groups, badKeyAt, badRangeAt) => {
          const kb = badKeyAt % groups.length
          const rb = badRangeAt % groups.length
          const parts = [`[global]\nimage = "base" # x = [1]\noverrides = ["s#1", 'l[1]']\n`]
          groups.forEach(([pre, q, multiline, n], i) => {
            const hosts = [`"g${i}n[1-${n}]"`, ...(i === rb ? ['"bad[9-1]"'] : []), `"h${i}"`]
            const list = multiline ? `[\n  ${hosts.join(',\n  # between\n  ')},\n]` : `[${hosts.join(', ')}]`
            parts.push(
              `${pre}[[group]]\n${q('name')} = "g${i}"\n${i === kb ? `${q('zz_bad')} = 1\n` : ''}${q('hosts')} = ${list}\npost = "none"\n`,
            )
          })
          const text = parts.join('\n')
          const lines = text.split('\n')
          const r = parseCluster(text, '/x/c.toml')
          // The two bad overrides hold '#' and '[' inside strings, which the scanner must not take for syntax.
          expect(r.diagnostics).toHaveLength(4)
          for (const d of r.diagnostics) {
            const line = lines[d.line - 1] as string
            const want = d.message.includes('zz_bad')
              ? 'zz_bad'
              : d.message.includes('bad[9-1]')
                ? 'bad[9-1]'
                : (/override name "([^"]+)"/.exec(d.message)?.[1] as string)
            expect(
              line
                .slice(d.col - 1)
                .replace(/^["']/, '')
                .startsWith(want),
              `${d.line}:${d.col} ${d.message}\n${text}`,
            ).toBe(true)
          }
        },
      ),
      { numRuns: RUNS },
    )
  })
})
