import { Command } from 'commander'
import { defaultConfig, loadConfigFile } from '../../config/load.ts'
import { errors } from '../../errors.ts'
import type { Io } from '../io.ts'

export function statusCommand(io: Io): Command {
  return new Command('status')
    .description("show a running node's status (asks its HTTP API)")
    .option('-c, --config <file>', 'node config file (YAML); the HTTP address is taken from it')
    .option('--url <url>', 'base URL of the node instead, e.g. http://127.0.0.1:7480')
    .option('--json', 'print the status document as JSON')
    .action(async (opts: { config?: string; url?: string; json?: boolean }) => {
      const config = opts.config
        ? loadConfigFile(opts.config, { env: io.env })
        : defaultConfig({ env: io.env, cwd: io.cwd })
      const base = opts.url ?? `http://${config.http.host}:${config.http.port}`
      let status: Record<string, unknown>
      try {
        const res = await fetch(`${base}/api/v1/status`, { signal: AbortSignal.timeout(3000) })
        status = (await res.json()) as Record<string, unknown>
      } catch (err) {
        throw errors.NODE_UNREACHABLE(
          base,
          (err as Error).cause ? String((err as Error).cause) : (err as Error).message,
        )
      }
      if (opts.json) {
        io.out(`${JSON.stringify(status)}\n`)
        return
      }
      const node = status.node as { name: string; key: string }
      io.out(
        [
          `node     ${node.name} (${node.key.slice(0, 16)}…)`,
          `site     ${status.site ? (status.site as { id: string }).id : 'not provisioned'}`,
          `version  ${status.version}`,
          `uptime   ${status.uptimeS} s`,
          '',
        ].join('\n'),
      )
    })
}
