// What every benchmark's command line shares: parse the options or print the
// usage and exit (2 on bad options, 0 on --help).
export function optionsOrExit<T extends { help: boolean }>(parse: () => T, usage: string): T {
  let opts: T
  try {
    opts = parse()
  } catch (e) {
    console.error(`${(e as Error).message}\n${usage}`)
    process.exit(2)
  }
  if (opts.help) {
    console.error(usage)
    process.exit(0)
  }
  return opts
}
