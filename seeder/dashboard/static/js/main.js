// The dashboard's entry point: login, the views (hash routes), the stream,
// and the actions with their confirmations and error messages.
import { ApiError, api } from './api.js'
import { NodeDetail } from './detail.js'
import { el } from './format.js'
import { Installs, Swarms } from './history.js'
import { Live } from './live.js'
import { NodeTable } from './nodes.js'
import { Overview, STATES } from './overview.js'
import { Schedules } from './schedules.js'

const $ = (id) => document.getElementById(id)
const VIEWS = ['login', 'fleet', 'node', 'swarms', 'installs', 'schedules']

let started = false
const live = new Live({ onAuthLost: () => showLogin('Your session ended; log in again.') })
const overview = new Overview({ onPick: (s) => setState(s) })
const table = new NodeTable({
  table: $('nodes'),
  onAction: (kind, id, button) => act(kind, id, button),
  onCount: (shown, total) => {
    $('shown').textContent = shown === total ? `${total} nodes` : `${shown} of ${total} nodes`
    $('nodes-empty').hidden = total > 0
  },
})
const detail = new NodeDetail({ onAction: (a, id, b) => act(a, id, b) })
const swarms = new Swarms()
const installs = new Installs()
const schedules = new Schedules()

// ---- toasts: every action says what happened, a refusal says why and what to do
export function toast(text, { error = false, hint } = {}) {
  const t = el('div', { class: `toast${error ? ' err' : ''}`, role: error ? 'alert' : 'status' }, text)
  if (hint) t.append(el('span', { class: 'hint', text: hint }))
  $('toasts').append(t)
  setTimeout(() => t.remove(), error ? 9000 : 4000)
}

function refused(what, e) {
  if (e instanceof ApiError && e.status === 401) {
    toast(`${what} refused: you are not logged in (or your session expired).`, {
      error: true,
      hint: 'Log in again with the admin token or the dashboard password.',
    })
    showLogin('Log in to act on nodes.')
    return
  }
  toast(`${what} refused: ${e.message}`, { error: true, hint: e.hint })
}

// ---- actions
async function act(kind, id, button) {
  const row = table.get(id)
  const name = row?.hostname ?? id
  try {
    if (button) button.disabled = true
    let r
    if (kind === 'reimage') {
      if (!confirm(`Reimage ${name}? Its disk is overwritten at its next network boot.`)) return
      r = await api.reimage(id)
      toast(`Reimage requested for ${name}.`)
    } else if (kind === 'cancel') {
      r = await api.cancel(id)
      toast(`Cancelled for ${name}.`)
    } else if (kind === 'adopt') {
      const group = await askGroup(name)
      if (!group) return
      r = await api.adopt(id, group)
      toast(`${name} adopted into ${group}.`)
    } else if (kind === 'remove') {
      if (!confirm(`Forget ${name}? Its history stays; it shows up again as discovered if it boots.`)) return
      await api.remove(id)
      table.remove(id)
      toast(`${name} forgotten.`)
      location.hash = '#/'
      return
    }
    if (r?.node) live.injectNode(r.node)
  } catch (e) {
    refused(`${kind[0].toUpperCase()}${kind.slice(1)} of ${name}`, e)
  } finally {
    if (button) button.disabled = false
  }
}

function askGroup(name) {
  const dlg = $('adopt-dialog')
  $('adopt-node').textContent = name
  $('group-list').replaceChildren(...table.groups.map((g) => el('option', { value: g })))
  $('adopt-group').value = $('group-filter').value
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok' ? $('adopt-group').value.trim() : ''), {
      once: true,
    })
    dlg.showModal()
  })
}

$('group-reimage').addEventListener('click', async (e) => {
  const g = $('group-filter').value
  if (!g || !confirm(`Reimage every node of group ${g}?`)) return
  const b = e.currentTarget
  b.disabled = true
  try {
    const r = await api.reimageGroup(g)
    for (const n of r.nodes ?? []) live.injectNode(n)
    toast(`Reimage requested for ${r.nodes?.length ?? 0} nodes of ${g}.`)
  } catch (err) {
    refused(`Reimage of group ${g}`, err)
  } finally {
    b.disabled = false
  }
})

// ---- filters
const stateSel = $('state-filter')
for (const s of STATES) stateSel.append(el('option', { value: s, text: s }))
function setState(s) {
  stateSel.value = s
  overview.picked(s)
  table.setFilter({ state: s })
}
stateSel.addEventListener('change', () => setState(stateSel.value))
$('filter').addEventListener('input', (e) => table.setFilter({ q: e.target.value.trim() }))
$('group-filter').addEventListener('change', (e) => {
  table.setFilter({ group: e.target.value })
  $('group-reimage').hidden = e.target.value === ''
  $('group-reimage').textContent = `Reimage group ${e.target.value}`
})
function syncGroups() {
  const sel = $('group-filter')
  const have = new Set([...sel.options].map((o) => o.value))
  for (const g of table.groups) if (!have.has(g)) sel.append(el('option', { value: g, text: g }))
}

// ---- the stream feeds the views
live.on('nodes', (rows) => {
  table.upsert(rows)
  syncGroups()
  if (detail.id !== null) for (const r of rows) if (r.id === detail.id) void detail.update(r)
})
live.on('removed', (ids) => {
  for (const id of ids) table.remove(id)
})
live.on('fleet', (f) => overview.update(f))
live.on('installs', (rows) => installs.upsert(rows))
live.on('status', (s) => {
  const c = $('conn')
  c.className = `conn ${s === 'live' ? 'live' : s === 'down' ? 'down' : ''}`
  c.textContent = s
})

// ---- views
function show(view) {
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== view
  for (const a of document.querySelectorAll('#tabs a')) {
    a.classList.toggle('on', a.dataset.view === view || (view === 'node' && a.dataset.view === 'fleet'))
  }
}

async function route() {
  if (!started) return
  const h = location.hash.replace(/^#/, '') || '/'
  swarms.hide()
  schedules.hide()
  const m = /^\/node\/(.+)$/.exec(h)
  try {
    if (m) {
      show('node')
      await detail.open(decodeURIComponent(m[1]))
      return
    }
    detail.close()
    if (h === '/swarms') {
      show('swarms')
      await swarms.show()
    } else if (h === '/installs') {
      show('installs')
      await installs.show()
    } else if (h === '/schedules') {
      show('schedules')
      await schedules.show()
    } else show('fleet')
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) showLogin('Log in to see the fleet.')
    else toast(`Could not load this view: ${e.message}`, { error: true, hint: e.hint })
  }
}
window.addEventListener('hashchange', route)

// ---- login
function showLogin(message) {
  started = false
  live.stop()
  // The next login starts from a fresh snapshot.
  table.reset([])
  show('login')
  $('tabs').hidden = true
  $('logout').hidden = true
  $('conn').hidden = true
  const err = $('login-error')
  err.hidden = !message
  err.textContent = message ?? ''
  $('secret').focus()
}

for (const r of document.querySelectorAll('input[name=mode]')) {
  r.addEventListener('change', () => {
    const token = r.value === 'token' && r.checked
    $('secret-label').textContent = token ? 'Admin token' : 'Password'
    $('secret').autocomplete = token ? 'off' : 'current-password'
  })
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault()
  const mode = document.querySelector('input[name=mode]:checked').value
  const secret = $('secret').value
  $('login-submit').disabled = true
  try {
    await api.login(mode === 'token' ? { token: secret } : { password: secret })
    $('secret').value = ''
    $('login-error').hidden = true
    await start()
  } catch (err) {
    $('login-error').hidden = false
    $('login-error').textContent =
      err.status === 429 ? err.message : err.status === 401 ? `Not accepted: ${err.message}` : err.message
  } finally {
    $('login-submit').disabled = false
  }
})

$('logout').addEventListener('click', async () => {
  await api.logout().catch(() => undefined)
  showLogin('Logged out.')
})

async function start() {
  // The stream first, then the snapshot: a change in between is not lost (rows are upserts).
  live.start()
  let nodes
  let fleet
  try {
    ;[nodes, fleet] = await Promise.all([api.nodes(), api.fleet()])
  } catch (e) {
    live.stop()
    throw e
  }
  started = true
  $('tabs').hidden = false
  $('logout').hidden = false
  $('conn').hidden = false
  table.upsert(nodes.nodes ?? [])
  syncGroups()
  overview.update(fleet)
  await route()
}

async function boot() {
  try {
    const s = await api.session()
    if (!s.authenticated) return showLogin()
    await start()
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return showLogin()
    showLogin(`The server did not answer as expected: ${e.message}`)
  }
}
void boot()
