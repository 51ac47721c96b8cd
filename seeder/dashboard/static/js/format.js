// Number and time formatting shared by the views.
const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB']

/** 1234567 -> "1.2 MB" (decimal units, as network rates are quoted). */
export function bytes(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–'
  let v = Math.max(0, n)
  let i = 0
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000
    i++
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${UNITS[i]}`
}

export function rate(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–'
  return n === 0 ? '0' : `${bytes(n)}/s`
}

/** Seconds -> "42s", "3m05s", "2h10m". */
export function duration(sec) {
  if (sec === null || sec === undefined || !Number.isFinite(sec) || sec < 0) return '–'
  const s = Math.round(sec)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

/** ISO time -> "12 s ago" / "14:03:22". */
export function ago(iso, now = Date.now()) {
  if (!iso) return '–'
  const t = Date.parse(iso)
  if (!Number.isFinite(t)) return '–'
  const d = Math.max(0, (now - t) / 1000)
  if (d < 60) return `${Math.floor(d)}s ago`
  if (d < 3600) return `${Math.floor(d / 60)}m ago`
  return clock(iso)
}

export function clock(iso) {
  if (!iso) return '–'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return '–'
  const today = new Date().toDateString() === d.toDateString()
  const hms = d.toLocaleTimeString([], { hour12: false })
  return today ? hms : `${d.toLocaleDateString()} ${hms}`
}

export function percent(p) {
  return p === null || p === undefined ? '' : `${p >= 99.95 || p === 0 ? Math.round(p) : p.toFixed(1)}%`
}

/** A DOM element: el('td', {class: 'num'}, 'text', child...). */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k === 'text') e.textContent = v
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v)
    else e.setAttribute(k, v === true ? '' : String(v))
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c)
  return e
}
