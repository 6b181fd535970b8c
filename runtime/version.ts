import { execFileSync } from 'node:child_process'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import pkg from '../package.json' with { type: 'json' }

export const VERSION: string = pkg.version

// Baked in by scripts/build-binary.ts (esbuild `define`): a single binary has no .git to ask.
declare const LATCHKEY_BUILD_COMMIT: string | undefined
declare const LATCHKEY_BUILD_RELEASE_KEY: string | undefined

/** The release public key (hex) this binary was built with, or null outside a binary. */
export function builtReleaseKey(): string | null {
  return typeof LATCHKEY_BUILD_RELEASE_KEY === 'string' ? LATCHKEY_BUILD_RELEASE_KEY : null
}

/** Whether this process is a single binary built by scripts/build-binary.ts. */
export function isSingleBinary(): boolean {
  return typeof LATCHKEY_BUILD_COMMIT === 'string'
}

/** The git commit this checkout runs from, or 'unknown' outside a checkout. Computed on request only. */
export function gitCommit(): string {
  if (typeof LATCHKEY_BUILD_COMMIT === 'string') return LATCHKEY_BUILD_COMMIT
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
