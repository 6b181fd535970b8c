/**
 * `latchkey cert` against a real ledger file (no node running: records go straight into the
 * file), judged with the node's dapp list.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { member } from '../../../dapps/certifications/test-support.ts'
import { tmpDir } from '../../../test/helpers/index.ts'
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
  return { dir, site, cert }
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'no error',
    (e: { code?: string; details?: { code?: string; reason?: string } }) =>
      [e.code, e.details?.code ?? e.details?.reason].filter(Boolean).join(' '),
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
})
