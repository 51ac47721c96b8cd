// The progress display: a finished bar stays finished (the install client's
// bar used to be redrawn after the download, interleaving with later lines on
// the serial console), and lines printed between redraws start on a clean line.
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { Progress } from '../../common/progress.ts'

function sink(): { stream: Writable & { isTTY: boolean }; text: () => string } {
  const chunks: string[] = []
  const stream = Object.assign(
    new Writable({
      write(c, _e, cb) {
        chunks.push(String(c))
        cb()
      },
    }),
    { isTTY: true },
  )
  return { stream, text: () => chunks.join('') }
}

describe('Progress', () => {
  it('draws nothing after finish, and finish writes its summary once', () => {
    const s = sink()
    const p = new Progress({ label: 'image', total: 100, stream: s.stream })
    p.update(50)
    p.finish('image: done')
    const after = s.text()
    p.update(100)
    p.finish('image: done again')
    expect(s.text()).toBe(after)
    expect(after.match(/image: done/g)).toHaveLength(1)
    expect(p.finished).toBe(true)
  })

  it('clearLine erases a drawn bar on a terminal, and is silent before the first draw and after the end', () => {
    const s = sink()
    const p = new Progress({ label: 'image', total: 100, stream: s.stream })
    p.clearLine()
    expect(s.text()).toBe('')
    p.update(10)
    const drawn = s.text()
    expect(drawn).toContain('image [')
    p.clearLine()
    expect(s.text()).toBe(`${drawn}\r\x1b[K`)
    p.finish()
    const ended = s.text()
    p.clearLine()
    expect(s.text()).toBe(ended)
  })

  it('prints plain lines, no escapes, when the stream is not a terminal', () => {
    const s = sink()
    const p = new Progress({ label: 'image', total: 100, stream: s.stream, tty: false })
    p.update(55)
    p.clearLine()
    p.finish()
    expect(s.text()).not.toContain('\x1b')
    expect(s.text().trim().split('\n')).toHaveLength(2)
  })
})
