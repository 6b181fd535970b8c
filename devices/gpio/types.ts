/**
 * The GPIO contract (after serialport's bindings-interface): a handful of async methods, each
 * with one sentence that states what every backend guarantees. Values are logical (after the
 * line's `activeLow`); backends drive physical levels. Lines are addressed by chip label (or
 * chip name) + offset, or by line name — never by a global number.
 */

/** A line level: 1 = active, 0 = inactive. */
export type Level = 0 | 1

/** A line by chip label (`pinctrl-bcm2711`) or chip name (`gpiochip0`) + offset, or by line name (`GPIO17`). */
export type LineRef = { chip: string; offset: number } | { name: string }

/** A line as the board knows it, once resolved. */
export interface LineInfo {
  /** The chip's label, e.g. `pinctrl-bcm2711`. */
  readonly chip: string
  /** The chip's device name, e.g. `gpiochip0` (sysfs: `gpiochip512`). */
  readonly chipName: string
  readonly offset: number
  /** The line's name (`GPIO17`), or null where the backend does not know names. */
  readonly name: string | null
}

export type Bias = 'pull-up' | 'pull-down' | 'disabled'

export interface OutputRequest {
  line: LineRef
  /** The value the line has from the moment it is requested (never the opposite value first). */
  initial: Level
  /** Logical 1 drives the pin low. */
  activeLow?: boolean
}

export interface LineEvent {
  /** The line's logical value after the change. */
  value: Level
  /** When the backend saw the change, from its Clock. */
  at: number
}

export interface InputRequest {
  line: LineRef
  activeLow?: boolean
  /** Pull resistor to apply; left as it is when omitted. */
  bias?: Bias
  /** Called once per change of the line's value after the request (never for the initial value). */
  onChange: (event: LineEvent) => void
  /** Called when the backend stops watching the line on its own (e.g. its monitor process died). */
  onError?: (err: Error) => void
}

export interface OutputLine {
  readonly info: LineInfo
  /** Drives the line to `value`; resolves once the hardware holds it. Writes apply in call order. */
  write(value: Level): Promise<void>
  /** The value the line is driven at. */
  read(): Promise<Level>
  /** Releases the line (idempotent); what the pin does afterwards is the hardware's business. */
  close(): Promise<void>
}

export interface InputLine {
  readonly info: LineInfo
  /** The line's current value. */
  read(): Promise<Level>
  /** Stops watching and releases the line (idempotent); no `onChange` call follows. */
  close(): Promise<void>
}

export type GpioKind = 'gpiod' | 'onoff' | 'sim'

export interface GpioDriver {
  /** Which backend this is, for logs and status. */
  readonly kind: GpioKind
  /** Opens the backend (detects tools, reads the chip table); idempotent. */
  ready(): Promise<void>
  /** Resolves a line reference against the board without requesting it. */
  resolve(line: LineRef): Promise<LineInfo>
  /** Requests a line as an output driven at `initial` from the request on. */
  openOutput(request: OutputRequest): Promise<OutputLine>
  /** Requests a line as an input and reports every change of its value to `onChange`. */
  openInput(request: InputRequest): Promise<InputLine>
  /** Releases every line and ends every helper process and timer; idempotent. */
  close(): Promise<void>
}

/** `pinctrl-bcm2711:17` or `GPIO17`, for messages. */
export function describeLine(ref: LineRef): string {
  return 'name' in ref ? ref.name : `${ref.chip}:${ref.offset}`
}

/** A stable key for a resolved line. */
export function lineKey(info: LineInfo): string {
  return `${info.chip}:${info.offset}`
}

export function invert(level: Level): Level {
  return level === 1 ? 0 : 1
}
