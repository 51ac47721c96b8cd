// One SSE connection (/api/v1/stream) for the whole page. Events are
// collected and handed to the views once per animation frame, coalesced per
// node: with hundreds of nodes posting every few seconds the DOM is touched
// at most once per frame, and only for the rows that changed.
export class Live {
  #es = null
  #pendingNodes = new Map()
  #pendingInstalls = new Map()
  #pendingFleet = null
  #frame = 0
  #pendingRemoved = new Set()
  #listeners = { nodes: [], fleet: [], installs: [], removed: [], status: [] }
  #retry = 1000
  #onAuthLost

  constructor({ onAuthLost }) {
    this.#onAuthLost = onAuthLost
  }

  on(kind, fn) {
    this.#listeners[kind].push(fn)
  }

  start() {
    this.stop()
    const es = new EventSource('/api/v1/stream', { withCredentials: true })
    this.#es = es
    this.#status('connecting')
    es.addEventListener('open', () => {
      this.#retry = 1000
      this.#status('live')
    })
    es.addEventListener('node', (m) => this.#queue(this.#pendingNodes, m, 'id'))
    es.addEventListener('install', (m) => this.#queue(this.#pendingInstalls, m, 'id'))
    es.addEventListener('removed', (m) => {
      try {
        const { id } = JSON.parse(m.data)
        this.#pendingNodes.delete(id)
        this.#pendingRemoved.add(id)
        this.#schedule()
      } catch {}
    })
    es.addEventListener('fleet', (m) => {
      try {
        this.#pendingFleet = JSON.parse(m.data)
        this.#schedule()
      } catch {}
    })
    es.addEventListener('error', () => {
      if (es.readyState !== EventSource.CLOSED) {
        this.#status('reconnecting')
        return
      }
      // Closed for good (a 401 does that): find out whether the session is gone.
      this.#status('down')
      this.#es = null
      fetch('/api/v1/session', { credentials: 'same-origin' })
        .then((r) => r.json())
        .then((s) => {
          if (!s.authenticated) this.#onAuthLost()
          else this.#later()
        })
        .catch(() => this.#later())
    })
  }

  stop() {
    this.#es?.close()
    this.#es = null
  }

  /** Pushes a node row as if it came from the stream (after an action's reply). */
  injectNode(row) {
    this.#pendingNodes.set(row.id, row)
    this.#schedule()
  }

  #later() {
    const wait = this.#retry
    this.#retry = Math.min(this.#retry * 2, 30_000)
    setTimeout(() => {
      if (this.#es === null) this.start()
    }, wait)
  }

  #queue(map, m, key) {
    try {
      const row = JSON.parse(m.data)
      map.set(row[key], row)
      this.#schedule()
    } catch {}
  }

  #schedule() {
    if (this.#frame === 0) this.#frame = requestAnimationFrame(() => this.#flush())
  }

  #flush() {
    this.#frame = 0
    if (this.#pendingNodes.size > 0) {
      const rows = [...this.#pendingNodes.values()]
      this.#pendingNodes.clear()
      for (const fn of this.#listeners.nodes) fn(rows)
    }
    if (this.#pendingRemoved.size > 0) {
      const ids = [...this.#pendingRemoved]
      this.#pendingRemoved.clear()
      for (const fn of this.#listeners.removed) fn(ids)
    }
    if (this.#pendingInstalls.size > 0) {
      const rows = [...this.#pendingInstalls.values()]
      this.#pendingInstalls.clear()
      for (const fn of this.#listeners.installs) fn(rows)
    }
    if (this.#pendingFleet) {
      const f = this.#pendingFleet
      this.#pendingFleet = null
      for (const fn of this.#listeners.fleet) fn(f)
    }
  }

  #status(s) {
    for (const fn of this.#listeners.status) fn(s)
  }
}
