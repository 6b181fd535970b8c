/**
 * Site creation: the genesis record (first admin key) and the enrolment of this board's node
 * key as a device. The admin key is written with mode 0600; it belongs on the admin's laptop or
 * a hardware token, not on the board: the CLI says so.
 *
 * With no node running on the data directory, both records go straight into its ledger file.
 * With a node running there (or answering on the configured HTTP address), they go through it:
 * the genesis with the node's one-time setup token (`<dataDir>/setup.token`, readable only by
 * whoever may read the data directory), then the enrolment as a signed request of the new admin.
 * The node holds the site at once.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from '../config/load.ts'
import { errors } from '../core/errors/index.ts'
import { type KeyPair, loadOrCreateKeyFile, readKeyFile } from '../core/keys.ts'
import { Ledger } from '../core/ledger/ledger.ts'
import {
  encodeBody,
  fromHex,
  GENESIS_SITE,
  RECORD_VERSION,
  signRecord,
  toHex,
  wireBytes,
} from '../core/ledger/record.ts'
import type { Logger } from '../core/log.ts'
import { ledgerDappsFor } from '../dapp-list.ts'
import { LatchkeyClient, type PublicStatus } from '../http/client.ts'

export const ledgerFile = (config: Config) => join(config.node.dataDir, 'ledger.db')
export const nodeKeyFile = (config: Config) => join(config.node.dataDir, 'keys', 'node.key')
export const setupTokenFile = (config: Config) => join(config.node.dataDir, 'setup.token')

/** The base URL of the node a config describes (a wildcard listen address is reached on loopback). */
export function nodeUrl(config: Config): string {
  const h = config.http.host
  const host = h === '0.0.0.0' ? '127.0.0.1' : h === '::' ? '::1' : h
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.http.port}`
}

/** The pid of a live node holding the data directory (runtime/node.ts writes `node.lock`), or null. */
export function runningNode(config: Config): number | null {
  try {
    const pid = Number(readFileSync(join(config.node.dataDir, 'node.lock'), 'utf8'))
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return null
    process.kill(pid, 0)
    return pid
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? -1 : null
  }
}

export interface SiteInit {
  site: string
  admin: string
  adminKeyFile: string
  adminKeyCreated: boolean
  node: string
  /** Through the running node's HTTP API, or straight into the ledger file. */
  via: 'node' | 'file'
}

export async function initSite(opts: {
  config: Config
  log: Logger
  name: string
  /** An existing admin key to use; otherwise one is created in the data dir. */
  adminKeyFile?: string
}): Promise<SiteInit> {
  const { config } = opts
  if (opts.adminKeyFile && !existsSync(opts.adminKeyFile))
    throw errors.KEY_INVALID(opts.adminKeyFile, 'file does not exist')
  const live = await liveNode(config)
  if (live) return initThroughNode(opts, live)
  return initInFile(opts)
}

/** The public status of a node running on this data dir or answering at the configured address. */
async function liveNode(config: Config): Promise<{ client: LatchkeyClient; status: PublicStatus } | null> {
  const pid = runningNode(config)
  // Port 0 names no address (the node picks one): only a running node's lock can be meant.
  if (!config.http.enabled || config.http.port === 0) {
    if (pid !== null)
      throw errors.DATA_DIR(
        config.node.dataDir,
        `a latchkey node (pid ${pid}) is using it and its HTTP address is not in the config; stop the node or set http.port`,
      )
    return null
  }
  const client = new LatchkeyClient({ baseUrl: nodeUrl(config), timeoutMs: 3000 })
  try {
    return { client, status: await client.publicStatus() }
  } catch (err) {
    if ((err as { code?: string }).code !== 'LK_NODE_UNREACHABLE') throw err
    if (pid === null) return null
    throw errors.DATA_DIR(
      config.node.dataDir,
      `a latchkey node (pid ${pid}) is using it but does not answer at ${client.baseUrl}`,
    )
  }
}

function adminKey(opts: { config: Config; adminKeyFile?: string | undefined }) {
  const file = opts.adminKeyFile ?? join(opts.config.node.dataDir, 'keys', 'admin.key')
  const { pair, created } = opts.adminKeyFile
    ? { pair: readKeyFile(opts.adminKeyFile), created: false }
    : loadOrCreateKeyFile(file)
  return { pair, created, file }
}

async function initThroughNode(
  opts: { config: Config; name: string; adminKeyFile?: string | undefined },
  live: { client: LatchkeyClient; status: PublicStatus },
): Promise<SiteInit> {
  const { config, name } = opts
  // Rule: a node joins one site for life.
  if (live.status.site) throw errors.SITE_EXISTS(live.status.site.id)
  let token: string | null = null
  try {
    token = readFileSync(setupTokenFile(config), 'utf8').trim()
  } catch {
    token = null // not this node's data dir, or not readable: the node refuses without it
  }
  const admin = adminKey(opts)
  const genesis = signRecord(
    {
      v: RECORD_VERSION,
      site: GENESIS_SITE,
      author: admin.pair.publicKey,
      seq: 1,
      prev: null,
      parents: [],
      hlc: { ms: Date.now(), c: 0 },
      type: 'site.genesis',
      body: encodeBody({ name, admins: [admin.pair.publicKey] }),
    },
    admin.pair.privateKeyObject,
  )
  const created = await live.client.call<{ site: string }>(
    'POST',
    '/api/v1/site/genesis',
    { wire: toHex(wireBytes(genesis)) },
    { sign: false, headers: token ? { authorization: `Bearer ${token}` } : {} },
  )
  // Now an enrolled admin: learn the node's key from its full status and enrol it as a device.
  const client = new LatchkeyClient({ baseUrl: live.client.baseUrl, key: admin.pair, site: created.site })
  const status = await client.get<{ node: { key: string; name: string } }>('/api/v1/status')
  const node = status.node.key
  const enrol = await client.appendRecord('site.enrol', {
    key: fromHex(node),
    role: 'device',
    name: status.node.name,
  })
  if (enrol.rejection) throw new Error(`enrolment of the node was rejected: ${enrol.rejection.detail}`)
  return {
    site: created.site,
    admin: admin.pair.id,
    adminKeyFile: admin.file,
    adminKeyCreated: admin.created,
    node,
    via: 'node',
  }
}

async function initInFile(opts: {
  config: Config
  log: Logger
  name: string
  adminKeyFile?: string | undefined
}): Promise<SiteInit> {
  const { config, log } = opts
  try {
    mkdirSync(config.node.dataDir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw errors.DATA_DIR(config.node.dataDir, (err as NodeJS.ErrnoException).code ?? String(err))
  }
  const ledger = new Ledger({ file: ledgerFile(config), log, dapps: ledgerDappsFor(config) })
  await ledger.ready()
  try {
    if (ledger.site) throw errors.SITE_EXISTS(toHex(ledger.site))
    const admin = adminKey(opts)
    const node: KeyPair = loadOrCreateKeyFile(nodeKeyFile(config)).pair
    const genesis = await ledger.admin.createGenesis(opts.name, [admin.pair.publicKey], admin.pair)
    const enrol = await ledger.append(
      'site.enrol',
      { key: node.publicKey, role: 'device', name: config.node.name },
      admin.pair,
    )
    if (enrol.rejection) throw new Error(`enrolment of this node was rejected: ${enrol.rejection.detail}`)
    return {
      site: toHex(genesis.id),
      admin: admin.pair.id,
      adminKeyFile: admin.file,
      adminKeyCreated: admin.created,
      node: node.id,
      via: 'file',
    }
  } finally {
    await ledger.close()
  }
}
