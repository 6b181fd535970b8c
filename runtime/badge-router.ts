/**
 * The node's badge route: a badge a reader emits goes once, as the reader's own `BadgeEvent`, to
 * the handlers of the dapps that own that reader: door-access owns its doors' readers,
 * machine-lockout and certifications (trainer sign-off) own the tools' readers. A dapp that owns
 * no reader (credentials: enrolment is armed at any reader) hears every reader. Handlers run in
 * the order the dapps registered them, synchronously: a door decides and drives its lock in the
 * same turn of the event loop as the reader's last byte.
 */
import type { BadgeEvent } from '../devices/readers/index.ts'
import type { Config } from './config/load.ts'

export type BadgeHandler = (e: BadgeEvent) => void

/** Reader name → the dapps that own it, from a node's config (doors and tools). */
export function readerOwners(config: Pick<Config, 'doors' | 'tools'>): Map<string, string[]> {
  const owners = new Map<string, string[]>()
  const own = (reader: string, dapp: string) => {
    const list = owners.get(reader) ?? []
    if (!list.includes(dapp)) list.push(dapp)
    owners.set(reader, list)
  }
  for (const d of config.doors) own(d.reader, 'door-access')
  for (const t of config.tools) {
    own(t.reader, 'machine-lockout')
    own(t.reader, 'certifications')
  }
  return owners
}

export class BadgeRouter {
  readonly #owners: ReadonlyMap<string, readonly string[]>
  /** Dapps that own at least one reader: they hear only their own. */
  readonly #owning: ReadonlySet<string>
  readonly #handlers: Array<{ dapp: string; handler: BadgeHandler }> = []
  /** reader → its handlers, built on the first badge at that reader. */
  readonly #byReader = new Map<string, BadgeHandler[]>()

  constructor(owners: ReadonlyMap<string, readonly string[]>) {
    this.#owners = owners
    this.#owning = new Set([...owners.values()].flat())
  }

  add(dapp: string, handler: BadgeHandler): void {
    this.#handlers.push({ dapp, handler })
    this.#byReader.clear()
  }

  /** Hands `e` to the handlers of its reader's owners, in order (a handler catches its own errors). */
  route(e: BadgeEvent): void {
    for (const h of this.#routeOf(e.reader)) h(e)
  }

  #routeOf(reader: string): BadgeHandler[] {
    let route = this.#byReader.get(reader)
    if (route) return route
    const owners = this.#owners.get(reader) ?? []
    route = this.#handlers
      .filter(({ dapp }) => owners.includes(dapp) || !this.#owning.has(dapp))
      .map(({ handler }) => handler)
    this.#byReader.set(reader, route)
    return route
  }
}
