/**
 * The one-time token that lets the holder of the data directory create the site over HTTP: issued
 * when a node starts without a site, written to `setup.token` (0600, a new file of our own), and
 * spent when the site is created or the node stops.
 */
import { randomBytes } from 'node:crypto'
import { closeSync, constants, openSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from './core/log.ts'

export class SetupToken {
  readonly file: string
  #value: string | null = null

  constructor(dataDir: string) {
    this.file = join(dataDir, 'setup.token')
  }

  /** The token while one is outstanding. */
  get value(): string | null {
    return this.#value
  }

  /** Issues a token when the ledger has no site yet; with a site, removes a stale file instead. */
  issue(hasSite: boolean, log: Logger): void {
    if (hasSite) {
      this.spend() // a stale file from a run that ended without a site
      return
    }
    this.#value = randomBytes(32).toString('hex')
    // A stale file (or a link planted in its place) is removed first, and O_EXCL with O_NOFOLLOW
    // never writes through a link.
    rmSync(this.file, { force: true })
    const fd = openSync(
      this.file,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    )
    try {
      writeSync(fd, `${this.#value}\n`)
    } finally {
      closeSync(fd)
    }
    log.info({ file: this.file }, 'no site yet: `latchkey site init` creates it with the setup token')
  }

  spend(): void {
    this.#value = null
    rmSync(this.file, { force: true })
  }
}
