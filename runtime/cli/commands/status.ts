import { join } from 'node:path'
import { Command } from 'commander'
import { defaultConfig, loadConfigFile } from '../../config/load.ts'
import { type KeyPair, readKeyFile } from '../../core/keys.ts'
import { LatchkeyClient } from '../../http/client.ts'
import type { Io } from '../io.ts'
import { nodeUrl } from '../site-init.ts'

/**
 * The key that signs the status request: the node key of the data dir when this user can read
 * it (a device of the site), else the admin key there; none (the public, minimal status) otherwise.
 */
function statusKey(dataDir: string, given: string | undefined): KeyPair | null {
  const files = given ? [given] : [join(dataDir, 'keys', 'node.key'), join(dataDir, 'keys', 'admin.key')]
  for (const file of files) {
    try {
      return readKeyFile(file)
    } catch {
      // not readable here: try the next, or ask unsigned
    }
  }
  return null
}

export function statusCommand(io: Io): Command {
  return new Command('status')
    .description(
      "show a running node's status (asks its HTTP API; signed with a key of the data dir when one is readable)",
    )
    .option('-c, --config <file>', 'node config file (YAML); the HTTP address is taken from it')
    .option('--url <url>', 'base URL of the node instead, e.g. http://127.0.0.1:7480')
    .option('--key <file>', 'sign with this key file (node, device or admin key)')
    .option('--json', 'print the status document as JSON')
    .action(async (opts: { config?: string; url?: string; key?: string; json?: boolean }) => {
      const config = opts.config
        ? loadConfigFile(opts.config, { env: io.env })
        : defaultConfig({ env: io.env, cwd: io.cwd })
      const key = statusKey(config.node.dataDir, opts.key)
      const client = new LatchkeyClient({ baseUrl: opts.url ?? nodeUrl(config), key, timeoutMs: 3000 })
      let status: Record<string, unknown>
      try {
        status = await client.status()
      } catch (err) {
        // A key the node does not know (another site's data dir): the public status still answers.
        if (!key || (err as { code?: string }).code === 'LK_NODE_UNREACHABLE') throw err
        status = (await client.publicStatus()) as unknown as Record<string, unknown>
      }
      if (opts.json) {
        io.out(`${JSON.stringify(status)}\n`)
        return
      }
      const node = status.node as { name: string; key?: string }
      io.out(
        [
          `node     ${node.name}${node.key ? ` (${node.key.slice(0, 16)}…)` : ''}`,
          `site     ${status.site ? (status.site as { id: string }).id : 'not provisioned'}`,
          `version  ${status.version}`,
          ...(status.uptimeS !== undefined
            ? [`uptime   ${status.uptimeS} s`]
            : ['(minimal status: no enrolled key of this site is readable here)']),
          '',
        ].join('\n'),
      )
    })
}
