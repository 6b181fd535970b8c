/**
 * The outputs a dapp may drive (dapps/contract.ts `OutputsView`) over the devices a host holds:
 * a name that is not an output of the asked kind is `LK_DAPP_OUTPUT`.
 */
import { Buzzer, Led, Lock, ToolRelay } from '../devices/outputs/index.ts'
import { dappErrors } from '../runtime/core/errors/index.ts'
import type { OutputsView } from './contract.ts'

/** `device(name)` is the host's output device of that name, or undefined. */
export function outputsView(device: (name: string) => unknown): OutputsView {
  const find = <T>(name: string, kind: string, type: new (...a: never[]) => T): T => {
    const d = device(name)
    if (!(d instanceof type)) throw dappErrors.DAPP_OUTPUT(name, kind)
    return d
  }
  return {
    lock: (name) => find(name, 'lock', Lock),
    relay: (name) => find(name, 'relay', ToolRelay),
    led: (name) => find(name, 'led', Led),
    buzzer: (name) => find(name, 'buzzer', Buzzer),
  }
}
