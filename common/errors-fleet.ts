// Error codes of the fleet database, the inventory and `imgswarm node`/`imgswarm db`.
import { define, USAGE } from './error-core.ts'

export const fleetErrors = {
  fleetDb: define('IMGSWARM_ERR_FLEET_DB', 1, (file: string, detail: string) => ({
    message: `fleet database ${file}: ${detail}`,
    hint: 'check the disk and the file (imgswarm db check); restore the last backup (docs/fleet-database.md) if it is damaged',
  })),
  fleetSchemaNewer: define('IMGSWARM_ERR_FLEET_SCHEMA', 1, (file: string, have: number, known: number) => ({
    message: `fleet database ${file} is at schema version ${have}, newer than this imgswarm knows (${known})`,
    hint: 'run the imgswarm version that wrote it, or restore a backup made by this version',
  })),
  nodeNotFound: define('IMGSWARM_ERR_NODE_NOT_FOUND', 1, (id: string) => ({
    message: `node ${id} is not in the inventory`,
    hint: 'list the nodes with: imgswarm node list (ids are host names, or MACs for nodes without one)',
  })),
  groupEmpty: define('IMGSWARM_ERR_GROUP_NOT_FOUND', 1, (group: string) => ({
    message: `no node in the inventory belongs to group ${group}`,
    hint: 'adopt nodes into it first (imgswarm node adopt ID --group G), or import them with a group column',
  })),
  notAdopted: define('IMGSWARM_ERR_NOT_ADOPTED', 1, (id: string) => ({
    message: `node ${id} was discovered on the network but not adopted; it is never reimaged before that`,
    hint: `adopt it into a group first: imgswarm node adopt ${id} --group GROUP`,
  })),
  nodeConflict: define('IMGSWARM_ERR_NODE_CONFLICT', 1, (detail: string) => ({
    message: `inventory conflict: ${detail}`,
    hint: 'remove or rename the other node first (imgswarm node rm ID), or fix the input',
  })),
  csv: define('IMGSWARM_ERR_CSV', USAGE, (file: string, line: number, detail: string) => ({
    message: `${file} line ${line}: ${detail}; nothing was imported`,
    hint: 'each line is mac,ip[,hostname[,group]] (an optional header line names the columns); see docs/inventory.md',
  })),
  fleetServer: define('IMGSWARM_ERR_FLEET_SERVER', 1, (url: string, detail: string, hint: string) => ({
    message: `${url}: ${detail}`,
    hint,
  })),
}
