// `imgswarm demo`: a simulated fleet reimage (or its loopback fallback).
export { type DemoOptions, LOOPBACK_NODES, runDemo } from './run.ts'
export type { DemoSummary } from './summary.ts'
