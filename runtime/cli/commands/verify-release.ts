/**
 * `latchkey verify-release [dir]`: checks a release directory (dist/ of `npm run build:binary`):
 * SHA256SUMS.sig is a valid Ed25519 signature of SHA256SUMS by the trusted release key, and
 * every binary listed in SHA256SUMS has that hash. The trusted key is `--public-key` (64 hex
 * digits, or a file holding them such as dist/release.pub), else the key this binary was
 * built with. One line per file; exit 1 when anything does not match.
 */
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Command } from 'commander'
import { errors } from '../../core/errors/index.ts'
import { parseSums, verifyReleaseSignature } from '../../release.ts'
import { builtReleaseKey } from '../../version.ts'
import type { Io } from '../io.ts'

export function verifyReleaseCommand(io: Io): Command {
  return new Command('verify-release')
    .description('check the signature of SHA256SUMS and the hashes of the binaries it lists')
    .argument('[dir]', 'directory holding SHA256SUMS, SHA256SUMS.sig and the binaries', '.')
    .option(
      '--public-key <hex|file>',
      'the release public key to trust (default: the one this build was made with)',
    )
    .option('--ignore-missing', 'skip listed binaries that are not in the directory')
    .action(async (dirArg: string, opts: { publicKey?: string; ignoreMissing?: boolean }) => {
      const dir = resolve(io.cwd, dirArg)
      const trusted = trustedKey(opts.publicKey, io.cwd)
      const sumsBytes = readRelease(join(dir, 'SHA256SUMS'))
      const sig = readRelease(join(dir, 'SHA256SUMS.sig')).toString('utf8')
      const verdict = verifyReleaseSignature(sumsBytes, sig, trusted)
      let failed = false
      if (verdict.ok) {
        io.out(`ok    SHA256SUMS.sig  signed by ${trusted}\n`)
      } else {
        failed = true
        const why = {
          malformed: 'is not an `ed25519 <key> <signature>` line',
          'other-key': `was made by ${verdict.signer}, not by the trusted key ${trusted}`,
          'bad-signature': `does not match SHA256SUMS (the file or the signature was altered)`,
        }[verdict.reason]
        io.out(`FAIL  SHA256SUMS.sig  ${why}\n`)
      }
      const sums = parseSums(sumsBytes.toString('utf8'))
      if (!sums || sums.length === 0) {
        io.out('FAIL  SHA256SUMS      not in `<sha256>  <file>` format\n')
        io.exitCode = 1
        return
      }
      for (const { sha256, name } of sums) {
        const file = join(dir, name)
        if (!existsSync(file)) {
          if (opts.ignoreMissing) io.out(`skip  ${name}  not in ${dir}\n`)
          else {
            failed = true
            io.out(`FAIL  ${name}  missing from ${dir}\n`)
          }
          continue
        }
        const actual = await sha256File(file)
        if (actual === sha256) io.out(`ok    ${name}  sha256 ${sha256.slice(0, 16)}…\n`)
        else {
          failed = true
          io.out(
            `FAIL  ${name}  sha256 ${actual.slice(0, 16)}… but SHA256SUMS says ${sha256.slice(0, 16)}…\n`,
          )
        }
      }
      // A good hash under a bad signature proves nothing: only both together pass.
      if (failed) io.exitCode = 1
    })
}

function trustedKey(given: string | undefined, cwd: string): string {
  const value = given ?? builtReleaseKey()
  if (value === null) {
    throw errors.CLI_USAGE(
      'this build carries no release key: give the trusted one with --public-key <hex|file> (dist/release.pub)',
    )
  }
  if (/^[0-9a-f]{64}$/i.test(value)) return value.toLowerCase()
  const file = resolve(cwd, value)
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8').trim()
    if (/^[0-9a-f]{64}$/i.test(text)) return text.toLowerCase()
  }
  throw errors.RELEASE_KEY_INVALID(value)
}

function readRelease(file: string): Buffer {
  try {
    return readFileSync(file)
  } catch (err) {
    throw errors.RELEASE_UNREADABLE(file, (err as NodeJS.ErrnoException).code ?? String(err))
  }
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash('sha256')
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolvePromise(hash.digest('hex')))
  })
}
