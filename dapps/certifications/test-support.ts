/**
 * Test support: a stand-in for the membership dapp (the real one is written elsewhere) that
 * owns `membership.put` {id, name, contact, status, expires, groups, staff}, signed by admins,
 * and writes `membership/member/<id>` as dapps/membership/model.ts describes. Used only by tests.
 */
import { type Dapp, reject } from '../contract.ts'
import { type Member, memberKey } from '../membership/model.ts'

export const fakeMembership: Dapp = {
  name: 'membership',
  version: '1.0.0',
  types: ['membership.put'],
  records(ctx) {
    ctx.recordType<Member>('membership.put', {
      validate: (r) => {
        if (typeof r.body?.id !== 'string') return reject('membership.BAD_BODY', 'expected a member')
        if (r.role !== 'admin') return reject('membership.NOT_ADMIN', 'membership.put needs an admin key')
        return null
      },
      reduce: (r, state) => state.put(memberKey(r.body.id), r.body),
    })
  },
}

export function member(id: string, over: Partial<Member> = {}): Member {
  return {
    id,
    name: id.charAt(0).toUpperCase() + id.slice(1),
    contact: null,
    status: 'active',
    expires: null,
    groups: [],
    staff: false,
    ...over,
  }
}
