// Property-test run counts: short in CI, long with IMGSWARM_FUZZ_RUNS=10000.
export const DEFAULT_RUNS = 200
export const RUNS = Number(process.env.IMGSWARM_FUZZ_RUNS ?? DEFAULT_RUNS)
