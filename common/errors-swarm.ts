// Error codes of the swarm engine (client/swarm/engine).
import { define, HOSTILE, USAGE } from './error-core.ts'

void define
void HOSTILE
void USAGE

export const swarmErrors = {}
