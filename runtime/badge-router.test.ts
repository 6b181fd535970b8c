/** The node's badge route: a badge reaches the dapps that own its reader, once, and nothing else. */
import { describe, expect, it } from 'vitest'
import type { BadgeEvent } from '../devices/readers/index.ts'
import { BadgeRouter, readerOwners } from './badge-router.ts'

const badge = (reader: string): BadgeEvent => ({
  reader,
  credential: { id: 'em:1', kind: 'em', bits: 32 },
  at: 0,
})

describe('badge router', () => {
  const owners = readerOwners({
    doors: [{ name: 'front', reader: 'front-reader', lock: 'front-lock' }],
    tools: [{ name: 'laser', reader: 'laser-reader' }],
  } as never)

  it('config: a door reader belongs to door-access, a tool reader to machine-lockout and certifications', () => {
    expect(Object.fromEntries(owners)).toEqual({
      'front-reader': ['door-access'],
      'laser-reader': ['machine-lockout', 'certifications'],
    })
  })

  it('a badge goes once to the owners of its reader and to the dapps that own no reader, in registration order', () => {
    const router = new BadgeRouter(owners)
    const seen: string[] = []
    for (const dapp of ['credentials', 'certifications', 'door-access', 'machine-lockout'])
      router.add(dapp, (e) => void seen.push(`${dapp}@${e.reader}`))
    router.route(badge('front-reader'))
    router.route(badge('laser-reader'))
    router.route(badge('spare-reader'))
    expect(seen).toEqual([
      'credentials@front-reader',
      'door-access@front-reader',
      'credentials@laser-reader',
      'certifications@laser-reader',
      'machine-lockout@laser-reader',
      'credentials@spare-reader',
    ])
  })

  it('a handler added after badges were routed hears the next badge', () => {
    const router = new BadgeRouter(owners)
    const seen: string[] = []
    router.add('door-access', () => void seen.push('door-access'))
    router.route(badge('front-reader'))
    router.add('probe', () => void seen.push('probe'))
    router.route(badge('front-reader'))
    expect(seen).toEqual(['door-access', 'door-access', 'probe'])
  })

  it('with no owners every dapp hears every reader', () => {
    const router = new BadgeRouter(new Map())
    const seen: string[] = []
    router.add('door-access', (e) => void seen.push(e.reader))
    router.route(badge('anything'))
    expect(seen).toEqual(['anything'])
  })
})
