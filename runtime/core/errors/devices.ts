/**
 * The devices' codes: GPIO backends, outputs and inputs (`LK_GPIO_…`, `LK_DEVICE_…`), and badge
 * readers (`LK_READER_…`). A reader's operational errors (a device that went away, a PN532 that
 * does not answer, garbage on the line) are never thrown at the door path: they land in the
 * reader's `health()` snapshot and the log.
 */
import { define } from './define.ts'

/** GPIO backends, outputs and inputs. */
export const deviceErrors = {
  // GPIO: addressing lines
  GPIO_CHIP_NOT_FOUND: define(
    'LK_GPIO_CHIP_NOT_FOUND',
    'operational',
    (chip: string, known: string[]) =>
      `no GPIO chip is labelled or named \`${chip}\` on this board (found: ${known.join(', ') || 'none'})`,
    (chip: string, known: string[]) => ({ chip, known }),
  ),
  GPIO_LINE_NOT_FOUND: define(
    'LK_GPIO_LINE_NOT_FOUND',
    'operational',
    (line: string, reason: string) => `GPIO line ${line} does not exist: ${reason}`,
    (line: string) => ({ line }),
  ),
  GPIO_LINE_AMBIGUOUS: define(
    'LK_GPIO_LINE_AMBIGUOUS',
    'operational',
    (name: string, matches: string[]) =>
      `GPIO line name \`${name}\` is not unique (${matches.join(', ')}); address it by chip and offset`,
    (name: string, matches: string[]) => ({ name, matches }),
  ),
  GPIO_LINE_BUSY: define(
    'LK_GPIO_LINE_BUSY',
    'operational',
    (line: string, holder: string) => `GPIO line ${line} is already in use (${holder})`,
    (line: string, holder: string) => ({ line, holder }),
  ),
  GPIO_LINE_CLOSED: define(
    'LK_GPIO_LINE_CLOSED',
    'operational',
    (line: string) => `GPIO line ${line} is closed`,
    (line: string) => ({ line }),
  ),
  GPIO_CLOSED: define(
    'LK_GPIO_CLOSED',
    'operational',
    (backend: string) => `the ${backend} GPIO backend is closed`,
    (backend: string) => ({ backend }),
  ),
  GPIO_UNSUPPORTED: define(
    'LK_GPIO_UNSUPPORTED',
    'usage',
    (backend: string, what: string) => `the ${backend} GPIO backend cannot ${what}`,
    (backend: string) => ({ backend }),
  ),
  GPIO_IO: define(
    'LK_GPIO_IO',
    'operational',
    (line: string, reason: string) => `GPIO line ${line}: ${reason}`,
    (line: string) => ({ line }),
  ),

  // GPIO: libgpiod command-line tools
  GPIO_TOOL_MISSING: define(
    'LK_GPIO_TOOL_MISSING',
    'operational',
    (tool: string) =>
      `the libgpiod tool \`${tool}\` is not on PATH (Debian package \`gpiod\`: apt install gpiod)`,
    (tool: string) => ({ tool }),
  ),
  GPIO_TOOL_VERSION: define(
    'LK_GPIO_TOOL_VERSION',
    'operational',
    (tool: string, output: string) =>
      `cannot tell the libgpiod version of \`${tool}\` (need v1.x or v2.x), it printed: ${JSON.stringify(output.slice(0, 120))}`,
    (tool: string, output: string) => ({ tool, output: output.slice(0, 400) }),
  ),
  GPIO_TOOL_FAILED: define(
    'LK_GPIO_TOOL_FAILED',
    'operational',
    (command: string, status: string, stderr: string) =>
      `\`${command}\` failed (${status})${stderr ? `: ${stderr.trim().split('\n').slice(-1)[0]}` : ''}`,
    (command: string, status: string, stderr: string) => ({ command, status, stderr: stderr.slice(0, 400) }),
  ),
  GPIO_TIMEOUT: define(
    'LK_GPIO_TIMEOUT',
    'operational',
    (what: string, ms: number) => `${what} did not happen within ${ms} ms`,
    (what: string, ms: number) => ({ what, ms }),
  ),
  GPIO_HOLDER_EXITED: define(
    'LK_GPIO_HOLDER_EXITED',
    'operational',
    (line: string, tool: string, status: string) =>
      `\`${tool}\` holding GPIO line ${line} exited unexpectedly (${status}); the line is no longer held`,
    (line: string, tool: string, status: string) => ({ line, tool, status }),
  ),

  // GPIO: legacy sysfs
  GPIO_SYSFS: define(
    'LK_GPIO_SYSFS',
    'operational',
    (path: string, reason: string) => `sysfs GPIO at ${path} is not usable: ${reason}`,
    (path: string) => ({ path }),
  ),

  // Outputs and inputs
  DEVICE_CONFIG: define(
    'LK_DEVICE_CONFIG',
    'usage',
    (device: string, key: string, reason: string) => `device ${device}: \`${key}\` ${reason}`,
    (device: string, key: string) => ({ device, key }),
  ),
  DEVICE_CLOSED: define(
    'LK_DEVICE_CLOSED',
    'operational',
    (device: string) => `device ${device} is closed`,
    (device: string) => ({ device }),
  ),
  DEVICE_NOT_READY: define(
    'LK_DEVICE_NOT_READY',
    'operational',
    (device: string) => `device ${device} is not open yet (call ready() first)`,
    (device: string) => ({ device }),
  ),
  DEVICE_SAFE_STATE: define(
    'LK_DEVICE_SAFE_STATE',
    'operational',
    (devices: string[], reasons: string[]) =>
      `could not put ${devices.join(', ')} in the safe state: ${reasons.join('; ')}`,
    (devices: string[], reasons: string[]) => ({ devices, reasons }),
  ),
} as const

/** Badge readers. */
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
