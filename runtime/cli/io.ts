/** What a command may touch of the outside world; tests pass collecting functions. */
export interface Io {
  out(text: string): void
  err(text: string): void
  env: NodeJS.ProcessEnv
  cwd: string
  /** Set by a command that finished with a non-zero status without an error. */
  exitCode?: number
}

export function processIo(): Io {
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
  }
}
