// The browser the dashboard tests drive: Debian's chromium, with the flags
// /work/shared/NOTES.md found to work here (playwright passes the user data dir).
export const CHROMIUM = '/usr/bin/chromium'
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
