/** What a command may touch of the outside world; tests pass collecting functions. */
export interface Io {
  out(text: string): void
  err(text: string): void
  env: NodeJS.ProcessEnv
  cwd: string
  /** Set by a command that finished with a non-zero status without an error. */
  exitCode?: number
}

/**
 * The real process's streams. A reader that closes stdout early (`latchkey member list | head`)
 * has taken all it wants: the command ends quietly (exit 0), not with an EPIPE stack trace.
 */
export function processIo(): Io {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') > 0) continue
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0)
      throw err
    })
  }
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
  }
}
