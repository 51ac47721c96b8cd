// Swarms per image version, and the install history (keyed rows, live from
// the stream's install events).
import { api } from './api.js'
import { bytes, clock, duration, el } from './format.js'

export class Swarms {
  #timer = 0

  async show() {
    await this.refresh()
    clearInterval(this.#timer)
    this.#timer = setInterval(() => this.refresh().catch(() => undefined), 5000)
  }

  hide() {
    clearInterval(this.#timer)
  }

  async refresh() {
    const { swarms = [] } = await api.swarms()
    document.getElementById('swarms-empty').hidden = swarms.length > 0
    document.querySelector('#swarms tbody').replaceChildren(
      ...swarms.map((s) => {
        const a = s.availability ?? { min: 0, max: 0, mean: 0, histogram: [] }
        const hist = a.histogram ?? []
        const top = Math.max(1, ...hist)
        const bars = el(
          'span',
          { class: 'hist', title: 'pieces by how many peers have them (left: fewest)' },
          ...hist.map((n) => {
            const i = el('i', { title: String(n) })
            i.style.height = `${Math.round((100 * n) / top)}%`
            return i
          }),
        )
        return el(
          'tr',
          { 'data-swarm': `${s.name}@${s.version}` },
          el('td', { text: `${s.kind === 'override' ? 'override ' : ''}${s.name}@${s.version}` }),
          el('td', {}, el('code', { text: String(s.infoHash ?? '').slice(0, 12) })),
          el('td', { class: 'num', text: String(s.pieces ?? '–') }),
          el('td', { class: 'num', text: String(s.seeders ?? 0) }),
          el('td', { class: 'num', text: String(s.leechers ?? 0) }),
          el(
            'td',
            {},
            bars,
            el('span', {
              class: 'muted',
              text: `min ${a.min} · mean ${Number(a.mean ?? 0).toFixed(1)} · max ${a.max}`,
            }),
          ),
        )
      }),
    )
  }
}

export class Installs {
  #rows = new Map()
  #loaded = false

  async show() {
    if (this.#loaded) return
    const { installs = [] } = await api.installs(500)
    this.#loaded = true
    // Oldest first in, each prepended: the newest ends on top.
    this.upsert([...installs].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt)))
  }

  upsert(list) {
    if (!this.#loaded) return
    const tbody = document.querySelector('#installs tbody')
    for (const i of list) {
      let tr = this.#rows.get(i.id)
      const cells = [
        el('td', { text: clock(i.startedAt) }),
        el('td', {}, el('a', { href: `#/node/${encodeURIComponent(i.node)}`, text: i.node })),
        el('td', { text: i.image }),
        el('td', { class: `result-${i.result}`, text: i.result }),
        el('td', {
          text: i.endedAt
            ? duration((Date.parse(i.endedAt) - Date.parse(i.startedAt)) / 1000)
            : `${duration((Date.now() - Date.parse(i.startedAt)) / 1000)} so far`,
        }),
        el('td', { class: 'num', text: bytes(i.bytesFromServer) }),
        el('td', { class: 'num', text: bytes(i.bytesFromPeers) }),
        el('td', { text: i.code ?? '' }),
      ]
      if (tr) tr.replaceChildren(...cells)
      else {
        tr = el('tr', { 'data-install': i.id }, ...cells)
        this.#rows.set(i.id, tr)
        tbody.prepend(tr)
      }
    }
    document.getElementById('installs-empty').hidden = this.#rows.size > 0
  }
}
