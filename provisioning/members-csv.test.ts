/** Member CSV: the RFC 4180 parser, all-or-nothing import with every bad row named, export. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Member } from '../dapps/membership/model.ts'
import { State } from '../runtime/core/ledger/state.ts'
import { membersToCsv, parseCsv, parseMembersCsv, planImport } from './members-csv.ts'

const HEADER = 'id,name,contact,status,expires,groups,staff'

describe('parseCsv (RFC 4180)', () => {
  it('quoted fields hold commas, doubled quotes and line breaks; CRLF, LF and a BOM are fine', () => {
    const text = '\ufeffa,b,c\r\n"x, y","say ""hi""","two\r\nlines"\r\nplain,,end\nlast,"",x'
    const { rows, problems } = parseCsv(text)
    expect(problems).toEqual([])
    expect(rows).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['x, y', 'say "hi"', 'two\r\nlines'] },
      { line: 4, fields: ['plain', '', 'end'] },
      { line: 5, fields: ['last', '', 'x'] },
    ])
  })

  it('names the line of a stray quote, text after a closing quote and an unclosed quote', () => {
    const { rows, problems } = parseCsv('a,b\nO"Brien,x\n"ok"x,y\n\nfine,1\n"open,2\nnever closed\n')
    expect(rows.map((r) => r.line)).toEqual([1, 5])
    expect(problems).toEqual([
      { line: 2, reason: expect.stringContaining('quote inside an unquoted field') },
      { line: 3, reason: expect.stringContaining('text follows a closing quote') },
      { line: 6, reason: expect.stringContaining('not closed') },
    ])
  })

  it('blank lines are skipped and a missing final line break is fine', () => {
    expect(parseCsv('a\n\n  \nb').rows).toEqual([
      { line: 1, fields: ['a'] },
      { line: 4, fields: ['b'] },
    ])
  })
})

const alice: Member = {
  id: 'alice',
  name: 'Alice Example',
  contact: 'alice@example.org',
  status: 'active',
  expires: '2026-12-31',
  groups: ['laser', 'wood'],
  staff: false,
}

describe('member CSV import', () => {
  it('a good file gives members; empty fields mean none, status defaults to active', () => {
    const text = [
      HEADER,
      'alice,Alice Example,alice@example.org,active,2026-12-31,laser;wood,false',
      'sam,Sam Staff,,,,,yes',
      'bob , Bob ,  , SUSPENDED ,, wood ; metal ,0',
    ].join('\r\n')
    const r = parseMembersCsv(text)
    expect(r).toEqual({
      ok: true,
      members: [
        alice,
        {
          id: 'sam',
          name: 'Sam Staff',
          contact: null,
          status: 'active',
          expires: null,
          groups: [],
          staff: true,
        },
        {
          id: 'bob',
          name: 'Bob',
          contact: null,
          status: 'suspended',
          expires: null,
          groups: ['wood', 'metal'],
          staff: false,
        },
      ],
    })
  })

  it('columns may come in any order', () => {
    const r = parseMembersCsv('staff,groups,expires,status,contact,name,id\ntrue,,,,,Sam,sam\n')
    expect(r).toMatchObject({ ok: true, members: [{ id: 'sam', name: 'Sam', staff: true }] })
  })

  it('a file with several bad rows reports every one with its line number and imports none', () => {
    const text = [
      HEADER, // 1
      'alice,Alice,,active,,,false', // 2 good
      'Bob,Bob,,active,,,false', // 3 id with a capital
      'carol,Carol,,banned,,,false', // 4 status
      'dave,Dave,,active,2025-02-30,,false', // 5 date
      'erin,Erin,,active,,,maybe', // 6 staff
      'alice,Alice again,,active,,,false', // 7 duplicate
      'frank,Frank', // 8 field count
      'gina,"Gina ""G"" Smith",,active,,laser;laser,false', // 9 groups repeat
      'hank,,,active,,,false', // 10 empty name
    ].join('\n')
    const r = parseMembersCsv(text)
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.problems.map((p) => p.line)).toEqual([3, 4, 5, 6, 7, 8, 9, 10])
    const reason = (line: number) => r.problems.find((p) => p.line === line)!.reason
    expect(reason(3)).toMatch(/^id "Bob" must be/)
    expect(reason(4)).toMatch(/^status "banned" must be one of active, suspended, expired/)
    expect(reason(5)).toMatch(/^expires "2025-02-30" must be a date/)
    expect(reason(6)).toBe('staff "maybe" must be true or false')
    expect(reason(7)).toBe('member alice is already on line 2')
    expect(reason(8)).toBe('has 2 fields, the header has 7')
    expect(reason(9)).toBe('groups must not repeat')
    expect(reason(10)).toMatch(/^name must be/)
  })

  it('a bad header is reported on line 1', () => {
    const r = parseMembersCsv('id,name,email,status,expires,groups,staff\nalice,Alice,,,,,\n')
    expect(r).toEqual({
      ok: false,
      problems: [
        { line: 1, reason: 'the header has no column contact' },
        { line: 1, reason: 'unknown column "email" in the header' },
      ],
    })
    expect(parseMembersCsv('')).toMatchObject({ ok: false, problems: [{ line: 1 }] })
  })

  it('quotes and commas inside fields survive', () => {
    const text = `${HEADER}\nbob,"Smith, Bob ""the builder""","bob@example.org, +44 1234",active,,,false\n`
    expect(parseMembersCsv(text)).toMatchObject({
      ok: true,
      members: [{ name: 'Smith, Bob "the builder"', contact: 'bob@example.org, +44 1234' }],
    })
  })
})

describe('member CSV export', () => {
  it('writes the import format, quoting only where needed, members in id order', () => {
    const bob: Member = {
      ...alice,
      id: 'bob',
      name: 'Smith, Bob "B"',
      contact: null,
      groups: [],
      staff: true,
    }
    expect(membersToCsv([bob, alice])).toBe(
      `${HEADER}\r\n` +
        'alice,Alice Example,alice@example.org,active,2026-12-31,laser;wood,false\r\n' +
        'bob,"Smith, Bob ""B""",,active,2026-12-31,,true\r\n',
    )
  })

  it('export then import gives the same members (property: any valid members)', () => {
    const id = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,15}$/)
    // Names and contacts: printable text including commas, quotes, semicolons, non-ASCII.
    const text = fc
      .string({ unit: fc.constantFrom(...'ab Z,";\'é€=+-@0'.split('')), minLength: 1, maxLength: 30 })
      .map((s) => s.trim())
      .filter((s) => s !== '')
    const memberArb = fc.record<Member>({
      id,
      name: text,
      contact: fc.option(text, { nil: null }),
      status: fc.constantFrom('active', 'suspended', 'expired'),
      expires: fc.option(fc.constantFrom('2024-02-29', '2026-12-31', '2099-01-01'), { nil: null }),
      groups: fc.uniqueArray(id, { maxLength: 4 }),
      staff: fc.boolean(),
    })
    fc.assert(
      fc.property(fc.uniqueArray(memberArb, { selector: (m) => m.id, maxLength: 8 }), (members) => {
        const back = parseMembersCsv(membersToCsv(members))
        const sorted = [...members].sort((a, b) => (a.id < b.id ? -1 : 1))
        expect(back).toEqual({ ok: true, members: sorted })
      }),
      { seed: 4242, numRuns: 200 },
    )
  })
})

describe('import plan', () => {
  it('skips unchanged members, puts new and changed ones, and lifts a suspension explicitly', () => {
    const state = new State()
    state.put('membership/member/alice', alice)
    state.put('membership/member/bob', { ...alice, id: 'bob', status: 'suspended' })
    const carol = { ...alice, id: 'carol' }
    const plan = planImport([alice, { ...alice, id: 'bob' }, carol], state, 'members.csv')
    expect(plan).toEqual([
      { type: 'membership.put', body: { ...alice, id: 'bob' }, member: 'bob' },
      {
        type: 'membership.status',
        body: { id: 'bob', status: 'active', reason: 'imported from members.csv' },
        member: 'bob',
      },
      { type: 'membership.put', body: carol, member: 'carol' },
    ])
  })
})
