/**
 * One pino logger per process, JSON lines to stdout (no transports: they do not survive
 * bundling, and journald keeps stdout). Components take a child: `log.child({ component })`.
 */
import { type DestinationStream, type LevelWithSilent, type Logger, pino } from 'pino'

export type { Logger }

export interface LogOptions {
  level: LevelWithSilent
  /** Where the JSON lines go; stdout by default. Tests pass a collecting stream. */
  destination?: DestinationStream
}

export function createLogger(opts: LogOptions): Logger {
  return pino(
    {
      level: opts.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: true }),
  )
}
