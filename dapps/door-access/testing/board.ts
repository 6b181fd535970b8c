/**
 * The test board: a SimGpio with real outputs and inputs on named lines, every timer on one fake
 * clock. Inputs are wired to `input` / `alarm` events exactly as runtime/hardware.ts wires them.
 */
import { Writable } from 'node:stream'
import { SimGpio } from '../../../devices/gpio/index.ts'
import type { LineRef } from '../../../devices/gpio/types.ts'
import {
  CurrentSense,
  type DebouncedInput,
  DoorContact,
  EStop,
  ExitButton,
} from '../../../devices/inputs/index.ts'
import { Buzzer, Led, Lock, type Output, ToolRelay } from '../../../devices/outputs/index.ts'
import type { FakeClock } from '../../../runtime/core/clock.ts'
import { createLogger } from '../../../runtime/core/log.ts'
import type { DappEvents } from '../../contract.ts'

export interface BoardOutput {
  name: string
  kind: 'lock' | 'relay' | 'led' | 'buzzer'
  line: LineRef
}

export interface BoardInput {
  name: string
  kind: 'door-contact' | 'exit-button' | 'estop' | 'current-sense'
  line: LineRef
  heldOpenMs?: number
}

export interface BoardOptions {
  clock: FakeClock
  outputs?: readonly BoardOutput[]
  inputs?: readonly BoardInput[]
  /** Where the inputs' events go. */
  emit<E extends keyof DappEvents>(event: E, e: DappEvents[E]): void
}

export class TestBoard {
  readonly gpio: SimGpio
  readonly outputs = new Map<string, Output>()
  readonly #inputs = new Map<string, DebouncedInput>()
  readonly #lines = new Map<string, LineRef>()

  constructor(gpio: SimGpio) {
    this.gpio = gpio
  }

  /** A ready board with `outputs` and `inputs` open; a closed door and a released e-stop read 0. */
  static async create(opts: BoardOptions): Promise<TestBoard> {
    const { clock } = opts
    const log = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, d) => d() }) })
    const gpio = new SimGpio({ clock, log })
    await gpio.ready()
    const board = new TestBoard(gpio)
    for (const o of opts.outputs ?? []) {
      const common = { name: o.name, gpio, line: o.line, clock, log }
      const device =
        o.kind === 'lock'
          ? new Lock(common)
          : o.kind === 'relay'
            ? new ToolRelay(common)
            : o.kind === 'led'
              ? new Led(common)
              : new Buzzer(common)
      await device.ready()
      board.outputs.set(o.name, device)
      board.#lines.set(o.name, o.line)
    }
    for (const i of opts.inputs ?? []) {
      const common = { name: i.name, gpio, line: i.line, clock, log }
      // A closed door and a released e-stop pull their line to ground (pull-up wiring).
      if (i.kind === 'door-contact' || i.kind === 'estop') gpio.drive(i.line, 0)
      const device =
        i.kind === 'door-contact'
          ? new DoorContact({ ...common, heldOpenMs: i.heldOpenMs ?? 30_000 })
          : i.kind === 'estop'
            ? new EStop(common)
            : i.kind === 'current-sense'
              ? new CurrentSense(common)
              : new ExitButton(common)
      await device.ready()
      const { name, kind } = i
      device.onChange((c) => opts.emit('input', { name, kind, value: c.value, at: c.at }))
      if (device instanceof DoorContact) device.onAlarm((a) => opts.emit('alarm', { name, ...a }))
      board.#inputs.set(name, device)
      board.#lines.set(name, i.line)
    }
    return board
  }

  output<T extends Output>(name: string): T {
    const o = this.outputs.get(name)
    if (!o) throw new Error(`no output ${name}`)
    return o as T
  }

  /** The line of a named output or input. */
  line(name: string): LineRef {
    const l = this.#lines.get(name)
    if (!l) throw new Error(`no line named ${name}`)
    return l
  }

  async close(): Promise<void> {
    for (const i of this.#inputs.values()) await i.close().catch(() => {})
    for (const o of this.outputs.values()) await o.close().catch(() => {})
    await this.gpio.close()
  }
}
