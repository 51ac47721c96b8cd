// Error codes of node credentials, the node agent and delta updates
// (docs/agent.md, docs/node-update.md).
import { define, HOSTILE, USAGE } from './error-core.ts'

export const updateErrors = {
  nodeAuth: define('IMGSWARM_ERR_NODE_AUTH', 1, (detail: string) => ({
    message: `node authentication failed: ${detail}`,
    hint: 'the node needs its credential (/etc/imgswarm/node.key, made at install); a node that was removed or asked to reimage must be reinstalled to get a new one (docs/agent.md)',
  })),
  enrolRefused: define('IMGSWARM_ERR_ENROL_REFUSED', 1, (node: string, detail: string) => ({
    message: `enrolment of ${node} refused: ${detail}`,
    hint: 'a node enrols once per requested reimage: adopt it (imgswarm node adopt), request a reimage (imgswarm node reimage), then install it',
  })),
  noCurrentVersion: define('IMGSWARM_ERR_NO_CURRENT_VERSION', 1, (node: string) => ({
    message: `the server does not know which image version ${node} runs`,
    hint: 'the node must have been installed (and enrolled) by imgswarm, or updated by it; reimage it once',
  })),
  deltaSame: define('IMGSWARM_ERR_DELTA_SAME', USAGE, (ref: string) => ({
    message: `the node already runs ${ref}`,
    hint: 'name another version with --to NAME@VER',
  })),
  deltaBuild: define('IMGSWARM_ERR_DELTA_BUILD', 1, (detail: string) => ({
    message: `cannot build the delta: ${detail}`,
    hint: 'both versions must be in the store (imgswarm image list); see docs/node-update.md',
  })),
  deltaInvalid: define('IMGSWARM_ERR_DELTA_INVALID', HOSTILE, (where: string, detail: string) => ({
    message: `${where}: ${detail}; nothing more is applied`,
    hint: 'the delta does not match what the server signed or what this node runs; see docs/node-update.md',
  })),
  updateApply: define('IMGSWARM_ERR_UPDATE_APPLY', 1, (path: string, detail: string) => ({
    message: `cannot update ${path}: ${detail}`,
    hint: 'the node is part-way between two versions: run the update again, or reimage it',
  })),
  agentConfig: define('IMGSWARM_ERR_AGENT_CONFIG', USAGE, (file: string, detail: string) => ({
    message: `agent configuration ${file}: ${detail}`,
    hint: 'the install writes /etc/imgswarm/agent.json and node.key; reinstall the node, or pass --root for a mounted system',
  })),
  excludeSyntax: define('IMGSWARM_ERR_EXCLUDE', USAGE, (file: string, line: number, detail: string) => ({
    message: `${file} line ${line}: ${detail}`,
    hint: 'one pattern a line: /etc/foo (one path), /srv/** (a tree), *.log (any name); see docs/node-update.md',
  })),
}
