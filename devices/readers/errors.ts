/**
 * The badge reader error catalogue (codes `LK_READER_…`, made with runtime/core/errors.ts `define()`).
 * Codes are stable: tests assert `err.code`, never message text. A reader's operational errors
 * (a device that went away, a PN532 that does not answer, garbage on the line) are never thrown
 * at the door path: they land in the reader's `health()` snapshot and the log.
 */
import { define } from '../../runtime/core/errors.ts'

export const readerErrors = {
  /** A reader config value is wrong (names the reader and the key). */
  CONFIG: define(
    'LK_READER_CONFIG',
    'usage',
    (reader: string, key: string, reason: string) => `reader ${reader}: \`${key}\` ${reason}`,
    (reader: string, key: string) => ({ reader, key }),
  ),
  /** A reader config has a key the reader type does not know. */
  UNKNOWN_KEY: define(
    'LK_READER_UNKNOWN_KEY',
    'usage',
    (reader: string, key: string, suggestion?: string) =>
      `reader ${reader}: unknown key \`${key}\`` + (suggestion ? ` (did you mean \`${suggestion}\`?)` : ''),
    (reader: string, key: string, suggestion?: string) => ({ reader, key, suggestion }),
  ),
  /** The device could not be opened (absent, unplugged, permissions, busy). */
  OPEN_FAILED: define(
    'LK_READER_OPEN_FAILED',
    'operational',
    (path: string, reason: string) => `reader device ${path} cannot be opened: ${reason}`,
    (path: string) => ({ path }),
  ),
  /** An open device went away (USB unplugged, I/O error, the pty closed). */
  LOST: define(
    'LK_READER_LOST',
    'operational',
    (path: string, reason: string) => `reader device ${path} went away: ${reason}`,
    (path: string) => ({ path }),
  ),
  /** Writing to the device failed. */
  WRITE_FAILED: define(
    'LK_READER_WRITE_FAILED',
    'operational',
    (path: string, reason: string) => `writing to reader device ${path} failed: ${reason}`,
    (path: string) => ({ path }),
  ),
  /** The reader sent a frame that failed its checksum, parity, length or syntax. */
  BAD_FRAME: define(
    'LK_READER_BAD_FRAME',
    'operational',
    (reader: string, reason: string, detail: string) =>
      `reader ${reader} sent a bad frame (${reason}): ${detail}`,
    (reader: string, reason: string) => ({ reader, reason }),
  ),
  /** A PN532 did not acknowledge a command in time. */
  NO_ACK: define(
    'LK_READER_NO_ACK',
    'operational',
    (path: string, command: string, ms: number) =>
      `PN532 at ${path} did not acknowledge ${command} within ${ms} ms`,
    (path: string, command: string, ms: number) => ({ path, command, ms }),
  ),
  /** A PN532 acknowledged a command but did not answer it in time. */
  NO_RESPONSE: define(
    'LK_READER_NO_RESPONSE',
    'operational',
    (path: string, command: string, ms: number) =>
      `PN532 at ${path} did not answer ${command} within ${ms} ms`,
    (path: string, command: string, ms: number) => ({ path, command, ms }),
  ),
  /** A PN532 answered with an error frame or an answer that does not fit the command. */
  PROTOCOL: define(
    'LK_READER_PROTOCOL',
    'operational',
    (path: string, problem: string) => `PN532 at ${path}: ${problem}`,
    (path: string) => ({ path }),
  ),
  /** The GPIO edge source (gpiomon) could not start or stopped. */
  EDGES_FAILED: define(
    'LK_READER_EDGES_FAILED',
    'operational',
    (tool: string, reason: string) => `GPIO edge source ${tool} failed: ${reason}`,
    (tool: string) => ({ tool }),
  ),
} as const
