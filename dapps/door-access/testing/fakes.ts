/**
 * Stand-ins for the dapps door-access and machine-lockout read (membership, credentials,
 * certifications, governance), so these tests do not depend on their code. Each owns one
 * `<name>.put` type whose body is put into state in exactly the layout the models document
 * (dapps/membership/model.ts, credentials/model.ts, certifications/model.ts).
 */

import { lowBitsKey } from '../../../devices/readers/credential.ts'
import { type Certification, certKey } from '../../certifications/model.ts'
import type { Dapp } from '../../contract.ts'
import { type Badge, badgeKey, low24Key } from '../../credentials/model.ts'
import { type Member, memberKey } from '../../membership/model.ts'
import type { Policy } from '../model.ts'

function fake<B>(
  name: string,
  put: (body: B, state: { put(k: string, v: unknown): void; get<T>(k: string): T | undefined }) => void,
): Dapp {
  return {
    name,
    version: '1.0.0',
    types: [`${name}.put`],
    records(ctx) {
      ctx.recordType<B>(`${name}.put`, { validate: () => null, reduce: (r, state) => put(r.body, state) })
    },
  }
}

export const fakeMembership = fake<Member>('membership', (m, state) => state.put(memberKey(m.id), m))

export const fakeCredentials = fake<Badge>('credentials', (b, state) => {
  state.put(badgeKey(b.id), b)
  const low = lowBitsKey(b.id)
  if (low) {
    const ids = state.get<string[]>(low24Key(low)) ?? []
    if (!ids.includes(b.id)) state.put(low24Key(low), [...ids, b.id].sort())
  }
})

export const fakeCertifications = fake<Certification>('certifications', (c, state) =>
  state.put(certKey(c.member, c.tool), c),
)

export const fakeGovernance = fake<Policy>('governance', (p, state) => state.put('governance/policy', p))

/** The fakes in load order. */
export const FAKE_DAPPS: readonly Dapp[] = [
  fakeMembership,
  fakeCredentials,
  fakeCertifications,
  fakeGovernance,
]

export function member(id: string, over: Partial<Member> = {}): Member {
  return {
    id,
    name: id,
    contact: null,
    status: 'active',
    expires: null,
    groups: ['members'],
    staff: false,
    ...over,
  }
}

export function badge(id: string, memberId: string, status: Badge['status'] = 'active'): Badge {
  return { id, member: memberId, status }
}

export function cert(memberId: string, tool: string, over: Partial<Certification> = {}): Certification {
  return {
    member: memberId,
    tool,
    grantedBy: 'trainer',
    grantedAt: 0,
    expires: null,
    trainer: false,
    ...over,
  }
}
