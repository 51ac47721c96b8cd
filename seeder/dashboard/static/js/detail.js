// Node detail: status, hardware facts, the event timeline, a console made of
// the events' messages and log lines (SystemImager's MONITOR_CONSOLE), and
// the node's installs. Follows the node live while open.
import { api } from './api.js'
import { bytes, clock, duration, el, percent, rate } from './format.js'

const MAX_EVENTS = 1000

export class NodeDetail {
  #id = null
  #seq = 0
  #useSeq = false
  #busy = false
  #again = false
  #onAction

  constructor({ onAction }) {
    this.#onAction = onAction
  }

  get id() {
    return this.#id
  }

  async open(id) {
    this.#id = id
    this.#seq = 0
    document.getElementById('nd-title').textContent = id
    document.getElementById('nd-sub').textContent = 'loading…'
    document.getElementById('nd-console').replaceChildren()
    document.querySelector('#nd-events tbody').replaceChildren()
    document.querySelector('#nd-installs tbody').replaceChildren()
    const d = await api.node(id)
    if (this.#id !== id) return
    this.#status(d)
    this.#facts(d.facts)
    this.#installs(d.installs ?? [])
    const evs = d.events ?? []
    this.#useSeq = evs.length === 0 || evs.every((e) => Number.isInteger(e.seq))
    this.#events(evs)
  }

  close() {
    this.#id = null
  }

  /** A node row from the stream: refresh the status, then fetch the new events. */
  async update(row) {
    if (row.id !== this.#id) return
    this.#status(row)
    if (this.#busy) {
      this.#again = true
      return
    }
    this.#busy = true
    try {
      do {
        this.#again = false
        const id = this.#id
        if (this.#useSeq) {
          const r = await api.nodeEvents(id, this.#seq)
          if (this.#id === id) this.#events(r.events ?? [])
        } else {
          const d = await api.node(id)
          if (this.#id !== id) break
          document.getElementById('nd-console').replaceChildren()
          document.querySelector('#nd-events tbody').replaceChildren()
          this.#events(d.events ?? [])
          this.#installs(d.installs ?? [])
        }
      } while (this.#again && this.#id !== null)
    } catch {
      // The next update tries again.
    } finally {
      this.#busy = false
    }
  }

  #status(d) {
    document.getElementById('nd-title').textContent = d.hostname ?? d.id
    document.getElementById('nd-sub').textContent = [d.mac, d.ip, d.group ? `group ${d.group}` : 'no group']
      .filter(Boolean)
      .join(' · ')
    const st = el('span', { class: 'state', 'data-state': d.state, text: d.state })
    dl('nd-status', [
      ['State', st],
      ['Step', d.step ?? '–'],
      ['Progress', percent(d.percent) || '–'],
      ['Image', d.image ?? '–'],
      ['Down / up', `${rate(d.rateDown)} / ${rate(d.rateUp)}`],
      ['Bytes down / up', `${bytes(d.bytesDown)} / ${bytes(d.bytesUp)}`],
      ['Peers', String(d.peers ?? 0)],
      ['ETA', d.state === 'installing' ? duration(d.etaSec) : '–'],
      ['Last seen', clock(d.lastSeen)],
      ['Message', d.code ? `${d.code}: ${d.message ?? ''}` : (d.message ?? '–')],
    ])
    const box = document.getElementById('nd-actions')
    const acts =
      d.state === 'reimage-requested' || d.state === 'installing'
        ? [['cancel', 'Cancel']]
        : d.state === 'discovered'
          ? [['adopt', 'Adopt']]
          : [['reimage', 'Reimage']]
    box.replaceChildren(
      ...acts.map(([act, label]) =>
        el('button', {
          type: 'button',
          class: act === 'reimage' ? 'danger' : 'ghost',
          'data-act': act,
          text: label,
          onclick: (e) => this.#onAction(act, d.id, e.currentTarget),
        }),
      ),
      el('button', {
        type: 'button',
        class: 'ghost',
        'data-act': 'remove',
        text: 'Forget',
        title: 'remove this node from the fleet database',
        onclick: (e) => this.#onAction('remove', d.id, e.currentTarget),
      }),
    )
  }

  #facts(f) {
    if (!f) return dl('nd-facts', [['Facts', 'not reported yet']])
    dl('nd-facts', [
      ['CPU', f.cpu ?? '–'],
      ['Memory', bytes(f.memoryBytes)],
      ...(f.disks ?? []).map((d) => [`Disk ${d.name}`, `${bytes(d.sizeBytes)}${d.model ? ` · ${d.model}` : ''}`]),
      ...(f.nics ?? []).map((n) => [`NIC ${n.name}`, `${n.mac ?? ''}${n.speedMbps ? ` · ${n.speedMbps} Mbit/s` : ''}`]),
    ])
  }

  #events(list) {
    const tbody = document.querySelector('#nd-events tbody')
    const con = document.getElementById('nd-console')
    const atBottom = con.scrollTop + con.clientHeight >= con.scrollHeight - 4
    for (const e of list) {
      if (Number.isInteger(e.seq)) {
        if (e.seq <= this.#seq) continue
        this.#seq = e.seq
      }
      const t = e.receivedAt ?? e.ts
      tbody.prepend(
        el(
          'tr',
          {},
          el('td', { text: clock(t) }),
          el('td', {}, el('span', { class: 'state', 'data-state': stepState(e.step), text: e.step })),
          el('td', { class: 'num', text: percent(e.percent) }),
          el('td', { class: 'num', text: e.rateDown === undefined ? '' : rate(e.rateDown) }),
          el('td', { class: 'num', text: e.peers === undefined ? '' : String(e.peers) }),
          el('td', { class: 'msg', text: e.code ? `${e.code}: ${e.message ?? ''}` : (e.message ?? '') }),
        ),
      )
      const lines = []
      if (e.message || e.percent === undefined) {
        lines.push([`${e.step}${e.message ? `: ${e.message}` : ''}`, e.step === 'failed'])
      }
      for (const l of e.logTail ?? []) lines.push([l, e.step === 'failed'])
      for (const [text, bad] of lines) {
        con.append(el('span', { class: 't', text: `${clock(t)} ` }), el('span', { class: bad ? 'e' : '', text }), '\n')
      }
    }
    while (tbody.rows.length > MAX_EVENTS) tbody.deleteRow(-1)
    while (con.childNodes.length > MAX_EVENTS * 6) con.firstChild.remove()
    if (atBottom) con.scrollTop = con.scrollHeight
  }

  #installs(list) {
    const tbody = document.querySelector('#nd-installs tbody')
    tbody.replaceChildren(
      ...[...list]
        .reverse()
        .map((i) =>
          el(
            'tr',
            {},
            el('td', { text: clock(i.startedAt) }),
            el('td', { text: clock(i.endedAt) }),
            el('td', { text: i.image }),
            el('td', { class: `result-${i.result}`, text: i.result }),
            el('td', { class: 'num', text: bytes(i.bytesFromServer) }),
            el('td', { class: 'num', text: bytes(i.bytesFromPeers) }),
            el('td', { text: i.code ?? '' }),
          ),
        ),
    )
  }
}

function stepState(step) {
  return step === 'done' ? 'done' : step === 'failed' ? 'failed' : 'installing'
}

function dl(id, pairs) {
  document.getElementById(id).replaceChildren(...pairs.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', {}, v)]))
}
