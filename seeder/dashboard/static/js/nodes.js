// The node table: one <tr> per node, kept in a Map by node id and updated
// cell by cell (only cells whose text changed are touched). Filtering and
// sorting move existing rows; nothing is rebuilt per event.
import { ago, duration, el, percent, rate } from './format.js'
import { STATES } from './overview.js'

const COLLATE = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' })

function actionsFor(state) {
  // A discovered node is reimaged only once adopted (the server answers 409 otherwise).
  if (state === 'discovered') return [['adopt', 'Adopt']]
  if (state === 'reimage-requested' || state === 'installing') return [['cancel', 'Cancel']]
  return [['reimage', 'Reimage']]
}

export class NodeTable {
  #rows = new Map()
  #tbody
  #filter = { q: '', state: '', group: '' }
  #sort = { key: 'id', dir: 1 }
  #onAction
  #onCount
  #groups = new Set()

  constructor({ table, onAction, onCount }) {
    this.#tbody = table.tBodies[0]
    this.#onAction = onAction
    this.#onCount = onCount
    for (const th of table.tHead.querySelectorAll('th[data-sort]')) {
      th.addEventListener('click', () => {
        const key = th.dataset.sort
        this.#sort = { key, dir: this.#sort.key === key ? -this.#sort.dir : 1 }
        for (const o of table.tHead.querySelectorAll('th')) o.classList.remove('asc', 'desc')
        th.classList.add(this.#sort.dir > 0 ? 'asc' : 'desc')
        this.#arrange()
      })
      if (th.dataset.sort === 'id') th.classList.add('asc')
    }
    this.#tbody.addEventListener('click', (e) => {
      const b = e.target.closest('button[data-act]')
      if (!b) return
      const tr = b.closest('tr')
      this.#onAction(b.dataset.act, tr.dataset.id, b)
    })
    // "12s ago" ages without events.
    setInterval(() => {
      const now = Date.now()
      for (const r of this.#rows.values()) if (r.tr.isConnected) set(r.c.seen, ago(r.d.lastSeen, now))
    }, 5000)
  }

  get groups() {
    return [...this.#groups].sort(COLLATE.compare)
  }

  get(id) {
    return this.#rows.get(id)?.d
  }

  all() {
    return [...this.#rows.values()].map((r) => r.d)
  }

  /** Replaces the whole set (first load). */
  reset(list) {
    for (const r of this.#rows.values()) r.tr.remove()
    this.#rows.clear()
    this.upsert(list)
  }

  upsert(list) {
    for (const d of list) {
      let r = this.#rows.get(d.id)
      if (!r) {
        r = this.#make(d)
        this.#rows.set(d.id, r)
      }
      this.#paint(r, d)
      if (d.group) this.#groups.add(d.group)
    }
    this.#arrange()
  }

  remove(id) {
    const r = this.#rows.get(id)
    if (!r) return
    r.tr.remove()
    this.#rows.delete(id)
    this.#arrange()
  }

  setFilter(f) {
    this.#filter = { ...this.#filter, ...f }
    this.#arrange()
  }

  #make(d) {
    const c = {
      name: el('a', { href: `#/node/${encodeURIComponent(d.id)}` }),
      sub: el('div', { class: 'step' }),
      group: el('td'),
      state: el('span', { class: 'state' }),
      fill: el('i'),
      pct: el('b', { class: 'pct' }),
      step: el('div', { class: 'step' }),
      down: el('td', { class: 'num down' }),
      up: el('td', { class: 'num up' }),
      peers: el('td', { class: 'num peers' }),
      eta: el('td', { class: 'num eta' }),
      image: el('td', { class: 'image' }),
      seen: el('td', { class: 'seen' }),
      actions: el('div', { class: 'acts' }),
    }
    const bar = el('div', { class: 'prog' }, el('div', { class: 'bar' }, c.fill), c.pct)
    const tr = el(
      'tr',
      { 'data-id': d.id },
      el('td', { class: 'name' }, c.name, c.sub),
      c.group,
      el('td', {}, c.state),
      el('td', {}, bar, c.step),
      c.down,
      c.up,
      c.peers,
      c.eta,
      c.image,
      c.seen,
      el('td', { class: 'actions' }, c.actions),
    )
    return { tr, c, d: null, acts: '' }
  }

  #paint(r, d) {
    const { c, tr } = r
    r.d = d
    set(c.name, d.hostname ?? d.id)
    set(c.sub, [d.hostname ? d.mac : null, d.ip].filter(Boolean).join(' · '))
    set(c.group, d.group ?? '–')
    if (tr.dataset.state !== d.state) {
      tr.dataset.state = d.state
      c.state.textContent = d.state
    }
    const p = d.percent ?? (d.state === 'done' ? 100 : 0)
    const t = `scaleX(${(Math.max(0, Math.min(100, p)) / 100).toFixed(3)})`
    if (c.fill.style.transform !== t) c.fill.style.transform = t
    set(c.pct, d.percent === null || d.percent === undefined ? '' : percent(d.percent))
    set(c.step, d.state === 'failed' ? (d.code ?? d.message ?? 'failed') : (d.step ?? ''))
    set(c.down, rate(d.rateDown))
    set(c.up, rate(d.rateUp))
    set(c.peers, String(d.peers ?? 0))
    set(c.eta, d.state === 'installing' ? duration(d.etaSec) : '–')
    set(c.image, d.image ?? '–')
    set(c.seen, ago(d.lastSeen))
    const acts = actionsFor(d.state)
    const key = acts.map((a) => a[0]).join()
    if (r.acts !== key) {
      r.acts = key
      c.actions.replaceChildren(
        ...acts.map(([act, label]) =>
          el('button', {
            type: 'button',
            class: `small ${act === 'reimage' ? 'danger' : 'ghost'}`,
            'data-act': act,
            text: label,
          }),
        ),
      )
    }
  }

  #visible(d) {
    const f = this.#filter
    if (f.state && d.state !== f.state) return false
    if (f.group && d.group !== f.group) return false
    if (!f.q) return true
    const q = f.q.toLowerCase()
    return [d.id, d.hostname, d.mac, d.ip, d.group, d.image, d.state, d.message].some(
      (v) => typeof v === 'string' && v.toLowerCase().includes(q),
    )
  }

  #cmp(a, b) {
    const { key, dir } = this.#sort
    let va = a[key]
    let vb = b[key]
    if (key === 'state') {
      va = STATES.indexOf(va)
      vb = STATES.indexOf(vb)
    }
    const na = va === null || va === undefined
    const nb = vb === null || vb === undefined
    if (na || nb) return na && nb ? COLLATE.compare(a.id, b.id) : na ? 1 : -1
    const r = typeof va === 'number' && typeof vb === 'number' ? va - vb : COLLATE.compare(String(va), String(vb))
    return r === 0 ? COLLATE.compare(a.id, b.id) : r * dir
  }

  /** Puts the visible rows in order, moving only rows that are out of place. */
  #arrange() {
    const shown = []
    for (const r of this.#rows.values()) {
      if (this.#visible(r.d)) shown.push(r)
      else if (r.tr.isConnected) r.tr.remove()
    }
    shown.sort((a, b) => this.#cmp(a.d, b.d))
    let cur = this.#tbody.firstChild
    for (const r of shown) {
      if (r.tr === cur) cur = cur.nextSibling
      else this.#tbody.insertBefore(r.tr, cur)
    }
    this.#onCount(shown.length, this.#rows.size)
  }
}

function set(e, v) {
  if (e.textContent !== v) e.textContent = v
}
