/**
 * The dapps a node runs, built from its config: the builtin dapps, with door-access and
 * machine-lockout given this board's doors and tools, and certifications the readers of those
 * tools (where trainers sign members off).
 */

import { createCertifications } from '../dapps/certifications/index.ts'
import type { Dapp } from '../dapps/contract.ts'
import { ledgerDapp } from '../dapps/contract.ts'
import { createDoorAccess } from '../dapps/door-access/index.ts'
import { builtinDapps } from '../dapps/index.ts'
import { createMachineLockout } from '../dapps/machine-lockout/index.ts'
import type { Config } from './config/load.ts'
import type { LedgerDapp } from './core/ledger/dapp.ts'

/**
 * `syncedAt`: when this board last completed a sync with the site (the mesh supplies it); null
 * means standalone, which counts as always in sync.
 */
export function dappsFor(config: Config, syncedAt: () => number | null = () => null): Dapp[] {
  const pulse = new Map(config.hardware.outputs.map((o) => [o.name, o.pulseMs]))
  const common = {
    timeZone: config.site.timeZone,
    syncedAt,
    ...(config.site.offlineGraceMs !== undefined ? { graceMs: config.site.offlineGraceMs } : {}),
  }
  const configured = ['certifications', 'door-access', 'machine-lockout']
  return [
    ...builtinDapps.filter((d) => !configured.includes(d.name)),
    createCertifications({
      signoffReaders: config.tools.map((t) => ({
        reader: t.reader,
        tool: t.name,
        ...(t.toolClass !== undefined ? { toolClass: t.toolClass } : {}),
        ...(t.buzzer !== undefined ? { buzzer: t.buzzer } : {}),
      })),
    }),
    createDoorAccess({
      ...common,
      doors: config.doors.map((d) => ({ ...d, pulseMs: pulse.get(d.lock) ?? 5000 })),
    }),
    createMachineLockout({ ...common, tools: config.tools.map((t) => ({ ...t })) }),
  ]
}

/**
 * The dapps a ledger is judged with: the node's list. Every process that opens a ledger file
 * (the node, each CLI command) folds with these, so they agree on state, roles and rejections.
 */
export function ledgerDappsFor(config: Config): LedgerDapp[] {
  return dappsFor(config).map(ledgerDapp)
}
