// Error codes of identity, post-install scripts, bootloader and post-actions.
import { define, HOSTILE, USAGE } from './error-core.ts'

void define
void HOSTILE
void USAGE

export const bootErrors = {}
