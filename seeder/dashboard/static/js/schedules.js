// The schedules (docs/schedules.md): one row per schedule with its next run
// and its last run's result, refreshed while the view is open.
import { api } from './api.js'
import { clock, el } from './format.js'

export class Schedules {
  #timer = 0

  async show() {
    await this.refresh()
    clearInterval(this.#timer)
    this.#timer = setInterval(() => this.refresh().catch(() => undefined), 15000)
  }

  hide() {
    clearInterval(this.#timer)
  }

  async refresh() {
    const { schedules = [] } = await api.schedules()
    document.getElementById('schedules-empty').hidden = schedules.length > 0
    document.querySelector('#schedules tbody').replaceChildren(
      ...schedules.map((s) => {
        const last = s.lastRun
        return el(
          'tr',
          { 'data-schedule': String(s.id) },
          el('td', { class: 'num', text: String(s.id) }),
          el('td', { text: s.group }),
          el('td', { text: s.action + (s.to ? ` → ${s.to}` : '') }),
          el(
            'td',
            {},
            el('code', { text: s.cron }),
            el('span', { class: 'muted', text: s.timezone ? ` ${s.timezone}` : '' }),
          ),
          el('td', { text: s.enabled ? (s.nextRun ? clock(s.nextRun) : 'never') : 'disabled' }),
          el('td', { class: last ? `result-${last.result}` : 'muted', text: last ? last.result : 'not run yet' }),
          el('td', { text: last ? `${clock(last.startedAt)} (${last.trigger})` : '' }),
          el('td', { class: 'muted', text: last?.message ?? '' }),
        )
      }),
    )
  }
}
