import { execFileSync } from 'node:child_process'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import pkg from '../package.json' with { type: 'json' }

export const VERSION: string = pkg.version

/** The git commit this checkout runs from, or 'unknown' outside a checkout. Computed on request only. */
export function gitCommit(): string {
  if (process.env.LATCHKEY_COMMIT) return process.env.LATCHKEY_COMMIT
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: dirname(fileURLToPath(import.meta.url)),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim()
  } catch {
    return 'unknown'
  }
}

export function versionLine(): string {
  return `latchkey ${VERSION} (commit ${gitCommit()}, node ${process.version}, ${process.platform}-${process.arch})`
}
