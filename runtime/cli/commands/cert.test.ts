/**
 * `latchkey cert` against a real ledger file (no node running: records go straight into the
 * file), judged with the node's dapp list.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { member } from '../../../dapps/certifications/test-support.ts'
import { runCli, tmpDir } from '../../../test/helpers/index.ts'
import { defaultConfig } from '../../config/load.ts'
import { readKeyFile } from '../../core/keys.ts'
import { silentLogger } from '../../core/ledger/testing/fixtures.ts'
import type { Io } from '../io.ts'
import { writeRecord } from '../ledger-client.ts'
import { initSite } from '../site-init.ts'
import { certCommand } from './cert.ts'

async function setup() {
  const dir = tmpDir()
  // Port 1: no node answers, so writes go to the ledger file.
  const env = { LATCHKEY_DATA_DIR: dir, LATCHKEY_HTTP_PORT: '1' }
  const config = defaultConfig({ env, cwd: dir })
  const site = await initSite({ config, log: silentLogger(), name: 'CLI Space' })
  const admin = readKeyFile(site.adminKeyFile)
  for (const id of ['alice', 'bob', 'carol']) {
    const w = await writeRecord(config, admin, 'membership.put', member(id))
    expect(w.rejection).toBeNull()
  }
  const cert = async (...args: string[]) => {
    const out: string[] = []
    const io: Io = { out: (t) => out.push(t), err: (t) => out.push(t), env, cwd: dir }
    const cmd = certCommand(io)
    const quiet = (c: Command) => {
      c.exitOverride().configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => out.push(s) })
      for (const sub of c.commands) quiet(sub)
    }
    quiet(cmd)
    await cmd.parseAsync(args, { from: 'user' })
    return out.join('')
  }
  return { dir, env, config, admin, site, cert }
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'no error',
    (e: { code?: string; details?: { code?: string; reason?: string } }) =>
      [e.code, e.details?.code ?? e.details?.reason].filter(Boolean).join(' '),
  )

/** The exit status the CLI gives the error `p` fails with. */
const exitOf = (p: Promise<unknown>) =>
  p.then(
    () => 0,
    (e: { exit?: number }) => e.exit,
  )

describe('latchkey cert', () => {
  it('grant, list, revoke, re-grant; a refused grant names its reason code', async () => {
    const { cert } = await setup()
    expect(await cert('grant', 'bob', 'laser', '--can-train')).toMatch(
      /^granted laser to bob \(record [0-9a-f]{64}, via file\)/,
    )
    expect(await cert('grant', 'alice', 'laser', '--trainer', 'bob', '--expires', '2099-01-31')).toContain(
      'granted laser to alice',
    )
    const listed = (await cert('list', '--json'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(listed.map((c) => [c.member, c.tool, c.trainer, c.grantedBy, c.expires, c.expired])).toEqual([
      ['alice', 'laser', false, 'bob', '2099-01-31', false],
      ['bob', 'laser', true, expect.stringMatching(/^key:/), null, false],
    ])
    expect(await cert('list', '--member', 'alice')).toMatch(/alice\s+laser\s+by bob\s+until 2099-01-31/)

    expect(await cert('revoke', 'alice', 'laser', '--reason', 'unsafe use')).toContain(
      'revoked laser from alice',
    )
    expect(await cert('list', '--member', 'alice')).toBe('no certifications\n')
    // The CLI names the revocations it knows, so this grant is an explicit re-grant.
    await cert('grant', 'alice', 'laser', '--trainer', 'bob')
    expect(await cert('list', '--member', 'alice')).toContain('alice')

    expect(await code(cert('grant', 'carol', 'laser', '--trainer', 'alice'))).toBe(
      'LK_RECORD_REFUSED certifications.NOT_TRAINER',
    )
    expect(await code(cert('grant', 'zed', 'laser'))).toBe('LK_RECORD_REFUSED certifications.UNKNOWN_MEMBER')
  })

  it('usage errors: a bad date, a bad member id, a missing reason', async () => {
    const { cert } = await setup()
    expect(await code(cert('grant', 'alice', 'laser', '--expires', '31/01/2099'))).toBe('LK_CLI_USAGE')
    expect(await code(cert('grant', 'Alice!', 'laser'))).toBe('LK_CLI_USAGE')
    expect(await code(cert('revoke', 'alice', 'laser'))).toBe('commander.missingMandatoryOptionValue')
  })

  it('export signs a credential with the node key; verify checks it offline, and refuses a tampered one', async () => {
    const { cert, dir, site } = await setup()
    await cert('grant', 'bob', 'laser', '--can-train')
    await cert('grant', 'alice', 'class:saw')
    const file = join(dir, 'alice.cred')
    expect(await cert('export', 'alice', '-o', file)).toContain(`signed by ${site.node}`)
    const ok = await cert('verify', file, '--site', site.site)
    expect(ok).toContain(`ok: credential of alice (Alice), site ${site.site}`)
    expect(ok).toContain(`signed by device key ${site.node}`)
    expect(ok).toMatch(/alice\s+class:saw/)
    expect(await cert('verify', file)).toContain('not pinned')
    expect(await code(cert('verify', file, '--site', 'ab'.repeat(32)))).toBe(
      'LK_CERT_CREDENTIAL_INVALID CRED_WRONG_SITE',
    )

    const bytes = readFileSync(file)
    const at = bytes.indexOf(Buffer.from('class:saw'))
    bytes[at + 6] = 'x'.charCodeAt(0) // class:saw → class:xaw
    writeFileSync(file, bytes)
    expect(await code(cert('verify', file))).toBe('LK_CERT_CREDENTIAL_INVALID CRED_BAD_SIGNATURE')
    expect(await code(cert('export', 'nobody', '-o', join(dir, 'x.cred')))).toBe('LK_CERT_UNKNOWN_MEMBER')
  })

  it('verify reports an expired credential as expired with a non-zero exit, today or --at a date', async () => {
    const { cert, dir, config, admin } = await setup()
    // The CLI refuses a grant already past; a grant record may still carry one (a lapsed cert).
    const lapsed = {
      member: 'bob',
      tool: 'lathe',
      trainer: null,
      canTrain: false,
      expires: '2020-01-31',
      after: [],
    }
    expect((await writeRecord(config, admin, 'certifications.grant', lapsed)).rejection).toBeNull()
    const bobFile = join(dir, 'bob.cred')
    await cert('export', 'bob', '-o', bobFile)
    expect(await code(cert('verify', bobFile))).toBe('LK_CERT_CREDENTIAL_INVALID CRED_EXPIRED')
    expect(await exitOf(cert('verify', bobFile))).toBe(1)
    expect(await cert('verify', bobFile, '--at', '2020-01-31')).toContain('as of 2020-01-31: 1 of 1')

    await cert('grant', 'alice', 'laser', '--expires', '2099-01-31')
    const file = join(dir, 'alice.cred')
    await cert('export', 'alice', '-o', file)
    expect(await cert('verify', file)).toMatch(/as of \d{4}-\d{2}-\d{2}: 1 of 1 certifications in force/)
    expect(await cert('verify', file, '--at', '2099-01-31')).toContain('ok: credential of alice')
    expect(await cert('verify', file, '--at', '2099-01-31T23:59:59Z')).toContain('ok: credential of alice')
    // 01:30 at +02:00 is still 31 January in UTC, the day expiry dates are compared with.
    expect(await cert('verify', file, '--at', '2099-02-01T01:30+02:00')).toContain('ok: credential of alice')
    expect(await code(cert('verify', file, '--at', '2099-02-01'))).toBe(
      'LK_CERT_CREDENTIAL_INVALID CRED_EXPIRED',
    )
    expect(await code(cert('verify', file, '--at', '2099-02-01T00:00:00.000Z'))).toBe(
      'LK_CERT_CREDENTIAL_INVALID CRED_EXPIRED',
    )
    const json = await cert('verify', file, '--json', '--at', '2099-02-01').catch(() => null)
    expect(json).toBeNull()

    // Some certifications in force: the credential is valid and marks the expired ones.
    expect(
      (await writeRecord(config, admin, 'certifications.grant', { ...lapsed, member: 'alice' })).rejection,
    ).toBeNull()
    await cert('export', 'alice', '-o', file)
    const some = await cert('verify', file)
    expect(some).toMatch(/1 of 2 certifications in force/)
    expect(some).toMatch(/alice\s+lathe.*until 2020-01-31 {2}EXPIRED/)
    expect(some).not.toMatch(/laser.*EXPIRED/)
  })

  it('verify --at refuses what is not a date or a date-time with a zone, as a usage error', async () => {
    const { cert, dir } = await setup()
    await cert('grant', 'alice', 'laser')
    const file = join(dir, 'alice.cred')
    await cert('export', 'alice', '-o', file)
    for (const bad of [
      'tomorrow',
      '2099-02-30',
      '2099-13-01',
      '20990201',
      '2099-02-01T10:00',
      '2099-02-01T25:00Z',
      '',
    ])
      expect(await code(cert('verify', file, '--at', bad)), bad).toBe('LK_CLI_USAGE')
    expect(await exitOf(cert('verify', file, '--at', 'tomorrow'))).toBe(2)
  })

  it('the latchkey process exits 1 on an expired credential and 2 on a bad --at', async () => {
    const { cert, dir, env } = await setup()
    await cert('grant', 'alice', 'laser', '--expires', '2099-01-31')
    const file = join(dir, 'alice.cred')
    await cert('export', 'alice', '-o', file)
    const run = (...args: string[]) =>
      runCli(['cert', 'verify', file, ...args], { cwd: dir, env: { ...process.env, ...env } })
    expect((await run('--at', '2099-01-31')).code).toBe(0)
    const expired = await run('--at', '2099-02-01')
    expect(expired.code).toBe(1)
    expect(expired.stderr).toContain('CRED_EXPIRED')
    const bad = await run('--at', 'someday')
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--at must be a date')
  })
})
