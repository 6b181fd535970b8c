/**
 * A board's chip table and the one rule for finding a line in it: a chip by its device name
 * or its label, a line by offset within it, or a line by name across all chips (which must be
 * unique). Shared by the sim and gpiod backends so both resolve exactly alike.
 */
import { deviceErrors } from '../../runtime/core/errors/index.ts'
import type { LineInfo, LineRef } from './types.ts'

export interface ChipTable {
  /** Device name, e.g. `gpiochip0`. */
  readonly name: string
  /** Label, e.g. `pinctrl-bcm2711`. */
  readonly label: string
  /** Line names by offset (null = unnamed); its length is the chip's line count. */
  readonly lines: ReadonlyArray<string | null>
}

export function resolveLine(chips: readonly ChipTable[], ref: LineRef): LineInfo {
  if ('name' in ref) {
    const matches: LineInfo[] = []
    for (const chip of chips) {
      chip.lines.forEach((name, offset) => {
        if (name === ref.name) matches.push({ chip: chip.label, chipName: chip.name, offset, name })
      })
    }
    if (matches.length === 0) throw deviceErrors.GPIO_LINE_NOT_FOUND(ref.name, 'no line has this name')
    if (matches.length > 1)
      throw deviceErrors.GPIO_LINE_AMBIGUOUS(
        ref.name,
        matches.map((m) => `${m.chipName}:${m.offset}`),
      )
    return matches[0]!
  }
  const chip = findChip(chips, ref.chip)
  const { offset } = ref
  if (!Number.isInteger(offset) || offset < 0 || offset >= chip.lines.length) {
    throw deviceErrors.GPIO_LINE_NOT_FOUND(
      `${ref.chip}:${offset}`,
      `${chip.name} [${chip.label}] has lines 0–${chip.lines.length - 1}`,
    )
  }
  return { chip: chip.label, chipName: chip.name, offset, name: chip.lines[offset] ?? null }
}

function findChip(chips: readonly ChipTable[], id: string): ChipTable {
  const byName = chips.find((c) => c.name === id)
  if (byName) return byName
  const byLabel = chips.filter((c) => c.label === id)
  if (byLabel.length === 1) return byLabel[0]!
  if (byLabel.length > 1)
    throw deviceErrors.GPIO_LINE_AMBIGUOUS(
      id,
      byLabel.map((c) => c.name),
    )
  throw deviceErrors.GPIO_CHIP_NOT_FOUND(
    id,
    chips.map((c) => `${c.name} [${c.label}]`),
  )
}

/** A Raspberry Pi 4's chips as the kernel names them (header lines 0–27 carry their schematic names). */
export const PI4_CHIPS: readonly ChipTable[] = [
  {
    name: 'gpiochip0',
    label: 'pinctrl-bcm2711',
    lines: [
      ...['ID_SDA', 'ID_SCL', 'SDA1', 'SCL1', 'GPIO_GCLK', 'GPIO5', 'GPIO6', 'SPI_CE1_N', 'SPI_CE0_N'],
      ...['SPI_MISO', 'SPI_MOSI', 'SPI_SCLK', 'GPIO12', 'GPIO13', 'TXD1', 'RXD1', 'GPIO16', 'GPIO17'],
      ...['GPIO18', 'GPIO19', 'GPIO20', 'GPIO21', 'GPIO22', 'GPIO23', 'GPIO24', 'GPIO25', 'GPIO26'],
      'GPIO27',
      ...Array.from({ length: 30 }, () => null),
    ],
  },
  {
    name: 'gpiochip1',
    label: 'raspberrypi-exp-gpio',
    lines: ['BT_ON', 'WL_ON', 'PWR_LED_OFF', 'GLOBAL_RESET', 'VDD_SD_IO_SEL', 'CAM_GPIO', 'SD_PWR_ON', null],
  },
]
