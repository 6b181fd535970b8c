/**
 * The node's hardware: one GPIO backend, the outputs (each opened directly at its declared
 * safe level, before anything else in the node starts), the inputs and the badge readers from
 * the config. Closing drives every output back to its safe state first. Badges are the readers'
 * own events (`readers`, each a `BadgeReader`): the dapp host listens to them directly. Other
 * events go out on `events`: `input` {name, kind, value, at}, `alarm` {name, type, active, at},
 * `reader-health` {name, health}.
 */
import { EventEmitter } from 'node:events'
import { createGpio, type GpioDriver } from '../devices/gpio/index.ts'
import { CurrentSense, type DebouncedInput, DoorContact, EStop, ExitButton } from '../devices/inputs/index.ts'
import { applySafeStates, Buzzer, Led, Lock, type Output, ToolRelay } from '../devices/outputs/index.ts'
import { type BadgeReader, createReader, type ReaderConfig, readerName } from '../devices/readers/index.ts'
import type { Config } from './config/load.ts'
import type { InputConfig, OutputConfig } from './config/schema.ts'
import type { Clock } from './core/clock.ts'
import { Resource } from './core/lifecycle.ts'
import type { Logger } from './core/log.ts'

export interface HardwareOptions {
  config: Config['hardware']
  log: Logger
  clock?: Clock
  env?: NodeJS.ProcessEnv
}

export interface OutputStatus {
  name: string
  kind: OutputConfig['kind']
  state: string
}

export class Hardware extends Resource {
  readonly name = 'hardware'
  readonly events = new EventEmitter()
  gpio: GpioDriver | null = null
  readonly outputs = new Map<string, { config: OutputConfig; device: Output }>()
  readonly inputs = new Map<string, { config: InputConfig; device: DebouncedInput }>()
  readonly readers = new Map<string, BadgeReader>()
  #opts: HardwareOptions

  constructor(opts: HardwareOptions) {
    super()
    this.#opts = opts
  }

  protected async _open(): Promise<void> {
    const { config, log } = this.#opts
    const clock = this.#opts.clock
    this.gpio = await openGpio(this.#opts)
    // Outputs first: each is requested at its safe level, so nothing clicks open at boot.
    for (const o of config.outputs) {
      const device = makeOutput(o, this.gpio, log, clock)
      this.outputs.set(o.name, { config: o, device })
    }
    await Promise.all([...this.outputs.values()].map(({ device }) => device.ready()))
    log.info({ outputs: [...this.outputs.keys()] }, 'outputs in their safe state')
    for (const i of config.inputs) {
      const device = makeInput(i, this.gpio, log, clock)
      this.inputs.set(i.name, { config: i, device })
      device.onChange((c) =>
        this.events.emit('input', { name: i.name, kind: i.kind, value: c.value, at: c.at }),
      )
      if (device instanceof DoorContact)
        device.onAlarm((a) => this.events.emit('alarm', { name: i.name, ...a }))
      await device.ready()
    }
    for (const r of config.readers) {
      const reader = createReader(r, {
        log: log.child({ reader: readerName(r as unknown as ReaderConfig) }),
        ...(clock ? { clock } : {}),
      })
      this.readers.set(reader.name, reader)
      reader.on('health', (health) => {
        log[health.state === 'ok' ? 'info' : 'warn'](
          { reader: reader.name, health },
          `reader ${reader.name} is ${health.state}`,
        )
        this.events.emit('reader-health', { name: reader.name, health })
      })
      await reader.ready()
    }
  }

  protected async _close(): Promise<void> {
    const { log } = this.#opts
    try {
      await applySafeStates([...this.outputs.values()].map((o) => o.device))
    } catch (err) {
      log.error({ err }, 'outputs could not all be put in their safe state')
    }
    for (const reader of this.readers.values())
      await reader.close().catch((err) => log.error({ err, reader: reader.name }, 'reader close failed'))
    for (const { device } of this.inputs.values())
      await device.close().catch((err) => log.error({ err }, 'input close failed'))
    for (const { device } of this.outputs.values())
      await device.close().catch((err) => log.error({ err }, 'output close failed'))
    await this.gpio?.close()
  }

  status() {
    return {
      gpio: this.gpio?.kind ?? null,
      outputs: [...this.outputs.values()].map(({ config, device }) => ({
        name: config.name,
        kind: config.kind,
        state: outputState(device),
      })),
      inputs: [...this.inputs.values()].map(({ config, device }) => ({
        name: config.name,
        kind: config.kind,
        value: device.value,
      })),
      readers: [...this.readers.values()].map((r) => ({ name: r.name, type: r.type, health: r.health() })),
    }
  }
}

/**
 * The supervisor's job after a crash (`latchkey safe-state`, systemd ExecStopPost): open every
 * configured output at its safe level, then release it. Throws naming the outputs that failed.
 */
export async function applyConfiguredSafeStates(opts: HardwareOptions): Promise<string[]> {
  const gpio = await openGpio(opts)
  const outputs = opts.config.outputs.map((o) => makeOutput(o, gpio, opts.log, opts.clock))
  try {
    await applySafeStates(outputs)
    return outputs.map((o) => o.name)
  } finally {
    for (const o of outputs) await o.close().catch(() => {})
    await gpio.close()
  }
}

async function openGpio(opts: HardwareOptions): Promise<GpioDriver> {
  const { config, log } = opts
  const gpio = await createGpio({
    backend: config.gpio,
    log: log.child({ component: 'gpio' }),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.env ? { env: opts.env } : {}),
    ...(config.simJournal ? { simJournal: config.simJournal } : {}),
  })
  await gpio.ready()
  return gpio
}

function makeOutput(o: OutputConfig, gpio: GpioDriver, log: Logger, clock?: Clock): Output {
  const common = {
    name: o.name,
    gpio,
    line: o.line,
    activeLow: o.activeLow,
    log: log.child({ output: o.name }),
    ...(clock ? { clock } : {}),
  }
  switch (o.kind) {
    case 'lock':
      return new Lock({ ...common, fail: o.fail, energise: o.energise })
    case 'relay':
      return new ToolRelay({ ...common, fail: o.fail })
    case 'led':
      return new Led(common)
    case 'buzzer':
      return new Buzzer(common)
  }
}

function makeInput(i: InputConfig, gpio: GpioDriver, log: Logger, clock?: Clock): DebouncedInput {
  const common = {
    name: i.name,
    gpio,
    line: i.line,
    activeLow: i.activeLow,
    debounceMs: i.debounceMs,
    log: log.child({ input: i.name }),
    ...(i.bias ? { bias: i.bias } : {}),
    ...(clock ? { clock } : {}),
  }
  switch (i.kind) {
    case 'door-contact':
      return new DoorContact({ ...common, heldOpenMs: i.heldOpenMs })
    case 'exit-button':
      return new ExitButton(common)
    case 'estop':
      return new EStop(common)
    case 'current-sense':
      return new CurrentSense(common)
  }
}

function outputState(device: Output): string {
  if (device instanceof Lock) return device.state
  if (device instanceof ToolRelay) return device.enabled ? 'on' : 'off'
  if (device instanceof Led) return device.lit ? 'on' : 'off'
  if (device instanceof Buzzer) return device.playing ? 'playing' : 'off'
  return 'unknown'
}
