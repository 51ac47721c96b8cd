// Error codes of in-place extraction (client/swarm/inplace).
import { define, HOSTILE, USAGE } from './error-core.ts'

void define
void HOSTILE
void USAGE

export const inplaceErrors = {}
