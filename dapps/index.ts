/**
 * The dapps a latchkey node runs, in load order (a dapp comes after the dapps it depends on).
 * Each lives in its own folder and exports one `Dapp` (dapps/contract.ts).
 *
 * May import: dapps/contract.ts, other dapps' exported helpers, runtime/core/ledger types through the
 * contract, devices types. Never runtime/node.ts, the mesh or the HTTP server.
 */

import { certifications } from './certifications/index.ts'
import type { Dapp } from './contract.ts'
import { credentials } from './credentials/index.ts'
import { doorAccess } from './door-access/index.ts'
import { governance } from './governance/index.ts'
import { machineLockout } from './machine-lockout/index.ts'
import { membership } from './membership/index.ts'

/**
 * Every dapp with its record types. door-access and machine-lockout appear here with no doors
 * or tools (enough to judge their records); a node builds them from its config
 * (runtime/dapp-list.ts).
 */
export const builtinDapps: readonly Dapp[] = [
  membership,
  credentials,
  certifications,
  governance,
  doorAccess,
  machineLockout,
]
