import { Command } from 'commander'
import { defaultConfig, loadConfigFile } from '../../config/load.ts'
import { createLogger } from '../../core/log.ts'
import { dappsFor } from '../../dapp-list.ts'
import { LatchkeyNode } from '../../node.ts'
import type { Io } from '../io.ts'

export function runCommand(io: Io): Command {
  return new Command('run')
    .description('run a node (embedded defaults when no --config is given)')
    .option('-c, --config <file>', 'node config file (YAML)')
    .action(async (opts: { config?: string }) => {
      const config = opts.config
        ? loadConfigFile(opts.config, { env: io.env })
        : defaultConfig({ env: io.env, cwd: io.cwd })
      const log = createLogger({ level: config.log.level })
      const node = new LatchkeyNode({ config, log, dapps: dappsFor(config) })
      const stopped = waitForStopSignal(node, config.shutdown.timeoutMs)
      try {
        await node.ready()
      } catch (err) {
        await node.close().catch(() => {})
        throw err
      }
      const s = node.status()
      io.err(
        [
          '',
          `latchkey node "${s.node.name}" is up (data in ${node.dataDir}).`,
          s.http
            ? `  status:  curl http://${s.http.host}:${s.http.port}/api/v1/status`
            : '  HTTP API disabled',
          s.broker
            ? `  broker:  mqtt://${s.broker.host}:${s.broker.port} (enrolled keys only)`
            : '  embedded broker disabled',
          s.site
            ? `  site:    ${s.site.name} (${s.site.id.slice(0, 16)}…), ${s.records} records`
            : '  site:    none yet: create one with `npx latchkey site init --name "My Makerspace"`',
          '  next:    latchkey --help lists the commands; Ctrl-C stops the node.',
          '',
        ].join('\n'),
      )
      await stopped
    })
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/**
 * Resolves once SIGINT, SIGTERM or SIGHUP (a closed terminal, or the launcher passing one on)
 * has closed the node; a second signal exits at once.
 */
function waitForStopSignal(node: LatchkeyNode, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false
    let stoppingAt = 0
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        // Ctrl-C under `npm start` arrives twice: from the terminal to the process group, and
        // forwarded by npm. Only a signal well after the first means "stop now".
        if (performance.now() - stoppingAt < 1000) return
        node.log.warn({ signal }, 'second signal: exiting without waiting')
        process.exit(1)
      }
      stopping = true
      stoppingAt = performance.now()
      node.log.info({ signal }, 'stopping')
      const timer = setTimeout(() => {
        node.log.error({ timeoutMs }, 'graceful stop timed out; exiting')
        process.exit(1)
      }, timeoutMs)
      timer.unref()
      node.close().then(
        () => {
          clearTimeout(timer)
          for (const s of STOP_SIGNALS) process.off(s, onSignal)
          resolve()
        },
        (err) => {
          node.log.error({ err }, 'stop failed')
          process.exit(1)
        },
      )
    }
    for (const s of STOP_SIGNALS) process.on(s, onSignal)
  })
}
