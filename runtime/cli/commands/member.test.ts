/**
 * `latchkey member` and `latchkey badge` against a real ledger file (no node answers, so writes
 * go into the file), judged with the node's dapp list.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Command, CommanderError } from 'commander'
import { describe, expect, it } from 'vitest'
import { tmpDir } from '../../../test/helpers/index.ts'
import { defaultConfig } from '../../config/load.ts'
import { isLatchkeyError } from '../../core/errors.ts'
import { Ledger } from '../../core/ledger/ledger.ts'
import { silentLogger } from '../../core/ledger/testing/fixtures.ts'
import type { Io } from '../io.ts'
import { initSite } from '../site-init.ts'
import { badgeCommand } from './badge.ts'
import { memberCommand } from './member.ts'

async function setup(opts: { site?: boolean } = {}) {
  const dir = tmpDir()
  // Port 1: no node answers, so writes go to the ledger file.
  const env = { LATCHKEY_DATA_DIR: dir, LATCHKEY_HTTP_PORT: '1' }
  const config = defaultConfig({ env, cwd: dir })
  if (opts.site !== false) await initSite({ config, log: silentLogger(), name: 'CLI Space' })
  /** Runs a command as main() does: a catalogued error is one line on stderr and its exit code. */
  const run = async (...args: string[]) => {
    let out = ''
    let err = ''
    const toOut = (t: string) => {
      out += t
    }
    const io: Io = {
      out: toOut,
      err: (t) => {
        err += t
      },
      env,
      cwd: dir,
    }
    const program = new Command('latchkey').addCommand(memberCommand(io)).addCommand(badgeCommand(io))
    const quiet = (c: Command) => {
      c.exitOverride().configureOutput({
        writeOut: toOut,
        writeErr: () => {},
        outputError: () => {},
      })
      for (const sub of c.commands) quiet(sub)
    }
    quiet(program)
    let code = 0
    let errorCode: string | undefined
    try {
      await program.parseAsync(args, { from: 'user' })
    } catch (e) {
      if (isLatchkeyError(e)) {
        err += `latchkey: ${e.message}\n`
        code = e.exit
        errorCode = e.code
      } else if (e instanceof CommanderError) {
        err += `latchkey: ${e.message}\n`
        code = 2
      } else throw e
    }
    return { code, out, err, errorCode }
  }
  const ledgerCount = async () => {
    const l = new Ledger({ file: join(dir, 'ledger.db'), log: silentLogger(), readonly: true })
    await l.ready()
    try {
      return l.count
    } finally {
      await l.close()
    }
  }
  return { dir, run, ledgerCount }
}

describe('latchkey member', () => {
  it('add, list, set-status, renew; the ledger holds admin-signed records', async () => {
    const { run } = await setup()
    const added = await run(
      'member',
      'add',
      'alice',
      '--name',
      'Alice Example',
      '--contact',
      'alice@example.org',
      '--expires',
      '2030-12-31',
      '--groups',
      'laser;wood',
    )
    expect(added).toMatchObject({ code: 0, err: '' })
    expect(added.out).toMatch(/^member alice added \(record [0-9a-f]{16}…, via the file\)\n$/)
    expect((await run('member', 'add', 'sam', '--name', 'Sam', '--staff', '--groups', 'wood')).code).toBe(0)

    const listed = JSON.parse((await run('member', 'list', '--json')).out)
    expect(listed.members).toEqual([
      {
        id: 'alice',
        name: 'Alice Example',
        contact: 'alice@example.org',
        status: 'active',
        expires: '2030-12-31',
        groups: ['laser', 'wood'],
        staff: false,
      },
      {
        id: 'sam',
        name: 'Sam',
        contact: null,
        status: 'active',
        expires: null,
        groups: ['wood'],
        staff: true,
      },
    ])
    expect((await run('member', 'list', '--group', 'laser')).out).toMatch(
      /^alice .*\n1 member in group laser\n$/,
    )

    expect((await run('member', 'set-status', 'alice', 'suspend', '--reason', 'unpaid')).out).toContain(
      'member alice is now suspended',
    )
    const replaced = await run('member', 'add', 'alice', '--name', 'Alice E', '--replace')
    expect(replaced.out).toContain('member alice stays suspended')
    expect((await run('member', 'renew', 'alice', '--expires', '2031-01-31')).code).toBe(0)
    expect(JSON.parse((await run('member', 'list', '--json')).out).members[0]).toMatchObject({
      name: 'Alice E',
      status: 'suspended',
      expires: '2031-01-31',
    })
    expect((await run('member', 'set-status', 'alice', 'active')).code).toBe(0)
    expect((await run('member', 'list')).out).toMatch(/^alice\s+active\s+2031-01-31/m)
  })

  it('bad input is one sentence and exit 2, and nothing is written', async () => {
    const { run, ledgerCount } = await setup()
    await run('member', 'add', 'alice', '--name', 'Alice')
    const before = await ledgerCount()
    const cases: Array<[string[], string]> = [
      [['member', 'add', 'alice', '--name', 'Alice'], 'LK_MEMBER_EXISTS'],
      [['member', 'add', 'Bob', '--name', 'Bob'], 'LK_MEMBER_INVALID'],
      [['member', 'add', 'bob', '--name', 'Bob', '--expires', '2025-13-01'], 'LK_MEMBER_INVALID'],
      [['member', 'set-status', 'nobody', 'suspended'], 'LK_MEMBER_UNKNOWN'],
      [['member', 'set-status', 'alice', 'banned'], 'LK_MEMBER_INVALID'],
      [['member', 'renew', 'alice', '--expires', 'soon'], 'LK_MEMBER_INVALID'],
      [['member', 'import', 'missing.csv'], 'LK_MEMBER_CSV_READ'],
    ]
    for (const [args, code] of cases) {
      const r = await run(...args)
      expect({ args, code: r.code, errorCode: r.errorCode }).toEqual({ args, code: 2, errorCode: code })
      expect(r.err.split('\n').filter(Boolean)).toHaveLength(1)
    }
    expect(await ledgerCount()).toBe(before)
  })

  it('a key that is not an admin is refused before anything is signed', async () => {
    const { dir, run, ledgerCount } = await setup()
    const before = await ledgerCount()
    const r = await run('member', 'add', 'bob', '--name', 'Bob', '--admin-key', join(dir, 'keys', 'node.key'))
    expect(r).toMatchObject({ code: 2, errorCode: 'LK_MEMBER_CHECK' })
    expect(r.err).toContain('(membership.NOT_ADMIN)')
    expect(await ledgerCount()).toBe(before)
  })

  it('reading a data directory without a site is LK_NO_SITE', async () => {
    const { run } = await setup({ site: false })
    expect(await run('member', 'list')).toMatchObject({ code: 2, errorCode: 'LK_NO_SITE' })
  })
})

describe('latchkey member import / export', () => {
  const csv = [
    'id,name,contact,status,expires,groups,staff',
    'alice,"Example, Alice","alice@example.org, +44 1234",active,2030-12-31,laser;wood,false',
    'sam,Sam "Sparky" Staff,,active,,,true',
    'bob,Bob,,suspended,,,false',
  ].join('\r\n')

  it('imports a good file, exports the same members, and re-importing the export writes nothing', async () => {
    const { dir, run } = await setup()
    // Sam's name has quotes in an unquoted field: RFC 4180 forbids it, so write it properly.
    const file = join(dir, 'members.csv')
    writeFileSync(file, csv.replace('Sam "Sparky" Staff', '"Sam ""Sparky"" Staff"'))
    const imported = await run('member', 'import', file)
    expect(imported).toMatchObject({ code: 0, err: '' })
    expect(imported.out).toBe(`imported 3 members from ${file}: 3 records written, 0 unchanged\n`)

    const exported = await run('member', 'export')
    expect(exported.out).toBe(
      'id,name,contact,status,expires,groups,staff\r\n' +
        'alice,"Example, Alice","alice@example.org, +44 1234",active,2030-12-31,laser;wood,false\r\n' +
        'bob,Bob,,suspended,,,false\r\n' +
        'sam,"Sam ""Sparky"" Staff",,active,,,true\r\n',
    )
    const out = join(dir, 'export.csv')
    expect((await run('member', 'export', '-o', out)).out).toBe(`exported 3 members to ${out}\n`)
    expect(readFileSync(out, 'utf8')).toBe(exported.out)
    expect((await run('member', 'import', out)).out).toBe(
      `imported 3 members from ${out}: 0 records written, 3 unchanged\n`,
    )
    // Un-suspending through a file writes the put and an explicit status change.
    writeFileSync(file, exported.out.replace('bob,Bob,,suspended', 'bob,Bob,,active'))
    expect((await run('member', 'import', file, '--dry-run')).out).toBe(
      'would write membership.put for bob\nwould write membership.status for bob\n2 records would be written; 2 members unchanged\n',
    )
    await run('member', 'import', file)
    expect(JSON.parse((await run('member', 'list', '--json')).out).members[1]).toMatchObject({
      id: 'bob',
      status: 'active',
    })
  })

  it('a file with bad rows: every one listed with its line on stdout, one sentence on stderr, nothing imported', async () => {
    const { dir, run, ledgerCount } = await setup()
    const before = await ledgerCount()
    const file = join(dir, 'bad.csv')
    writeFileSync(file, `${csv}\r\ncarol,Carol,,banned,,,false\r\ndave,,,active,,,false\r\n`)
    const r = await run('member', 'import', file)
    expect(r).toMatchObject({ code: 2, errorCode: 'LK_MEMBER_CSV_BAD_ROWS' })
    expect(r.out.split('\n').filter(Boolean)).toEqual([
      `${file}:3: a quote inside an unquoted field (quote the whole field)`,
      expect.stringMatching(new RegExp(`^${file}:5: status "banned" must be one of`)),
      expect.stringMatching(new RegExp(`^${file}:6: name must be`)),
    ])
    expect(r.err).toBe(`latchkey: ${file} has 3 bad rows (listed on stdout); nothing was imported\n`)
    expect(await ledgerCount()).toBe(before)
  })
})

describe('latchkey badge', () => {
  it('bind, list, revoke; arm enrolment; refusals name the reason and write nothing', async () => {
    const { run, ledgerCount } = await setup()
    await run('member', 'add', 'alice', '--name', 'Alice')
    await run('member', 'add', 'bob', '--name', 'Bob')
    expect((await run('badge', 'bind', '0004335412', 'alice')).out).toMatch(
      /^badge em:4335412 bound to alice/,
    )
    expect((await run('badge', 'bind', 'uid:04A1B2C3', 'alice')).code).toBe(0)

    const before = await ledgerCount()
    const inUse = await run('badge', 'bind', 'em:4335412', 'bob')
    expect(inUse).toMatchObject({ code: 2, errorCode: 'LK_BADGE_CHECK' })
    expect(inUse.err).toContain('(credentials.IN_USE)')
    expect((await run('badge', 'bind', 'em:1', 'nobody')).err).toContain('(credentials.UNKNOWN_MEMBER)')
    expect((await run('badge', 'bind', '12345', 'bob')).errorCode).toBe('LK_BADGE_INVALID')
    expect((await run('badge', 'revoke', 'em:9', '--status', 'lost')).err).toContain(
      '(credentials.UNKNOWN_BADGE)',
    )
    expect((await run('badge', 'revoke', 'em:4335412', '--status', 'gone')).errorCode).toBe(
      'LK_BADGE_INVALID',
    )
    expect(await ledgerCount()).toBe(before)

    expect(
      (await run('badge', 'revoke', 'em:4335412', '--status', 'stolen', '--reason', 'bag stolen')).out,
    ).toContain('badge em:4335412 is now stolen')
    expect((await run('badge', 'expect', 'bob', '--reader', 'front')).out).toContain(
      'enrolment armed for bob at reader front',
    )
    const listed = JSON.parse((await run('badge', 'list', '--json')).out)
    expect(listed.badges.map((b: { id: string; status: string }) => [b.id, b.status])).toEqual([
      ['em:4335412', 'stolen'],
      ['uid:04a1b2c3', 'active'],
    ])
    expect(listed.expected).toMatchObject([{ member: 'bob', reader: 'front' }])
    expect((await run('badge', 'list', '--member', 'alice')).out).toMatch(
      /em:4335412\s+stolen\s+alice\s+\(bag stolen\)/,
    )
    expect((await run('badge', 'expect', 'bob', '--cancel')).code).toBe(0)
    expect(JSON.parse((await run('badge', 'list', '--json')).out).expected).toEqual([])
  })
})
