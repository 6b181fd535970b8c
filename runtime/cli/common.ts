import { type Config, defaultConfig, loadConfigFile } from '../config/load.ts'
import type { Io } from './io.ts'

/** The config a command runs with: the file given with --config, or the embedded defaults. */
export function configFrom(io: Io, file: string | undefined): Config {
  return file ? loadConfigFile(file, { env: io.env }) : defaultConfig({ env: io.env, cwd: io.cwd })
}

export const configOption = [
  '-c, --config <file>',
  'node config file (YAML); embedded defaults when omitted',
] as const
