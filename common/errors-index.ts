// Error codes of the archive index, manifests and install plans.
import { define, HOSTILE, USAGE } from './error-core.ts'

void define
void HOSTILE
void USAGE

export const indexErrors = {}
