/**
 * A latchkey node: the components of one process, started in order and closed in reverse
 * order. Constructing a node does no I/O; `ready()` opens the data directory, the node key
 * and every component; `close()` undoes it and may be called any number of times.
 */
import { join } from 'node:path'
import type { Dapp } from '../dapps/contract.ts'
import { ledgerDapp } from '../dapps/contract.ts'
import { readerOwners } from './badge-router.ts'
import type { Config } from './config/load.ts'
import type { Clock } from './core/clock.ts'
import { errors } from './core/errors.ts'
import { type KeyPair, loadOrCreateKeyFile } from './core/keys.ts'
import { Ledger } from './core/ledger/ledger.ts'
import { toHex } from './core/ledger/record.ts'
import { type Component, Resource } from './core/lifecycle.ts'
import type { Logger } from './core/log.ts'
import { isolateEventLoop } from './core/placement.ts'
import { DappHost } from './dapps.ts'
import { Hardware } from './hardware.ts'
import { ledgerRoutes } from './http/ledger-routes.ts'
import { type Caller, HttpServer } from './http/server.ts'
import { siteRoutes } from './http/site-routes.ts'
import { EmbeddedBroker } from './mesh/broker.ts'
import { PeerLink } from './mesh/link.ts'
import { SyncEngine } from './mesh/sync.ts'
import { DataDirLock } from './node-data-dir.ts'
import { SetupToken } from './node-setup-token.ts'
import { VERSION } from './version.ts'

interface ForkEvidence {
  author: string
  seq: number
  a: Uint8Array
  b: Uint8Array
}

export interface NodeOptions {
  config: Config
  log: Logger
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number
  /** The dapps this node runs (their record types, queries and event handlers). */
  dapps?: readonly Dapp[]
  /** Timers of dapps and devices (injectable so tests run on fake time). */
  clock?: Clock
}

/** What anyone may read (`GET /api/v1/status` unsigned, unless `http.publicStatus: full`). */
export interface PublicNodeStatus {
  node: { name: string }
  site: { id: string } | null
  version: string
  /** Every component started. */
  ready: boolean
}

export interface NodeStatus {
  node: { name: string; key: string }
  site: { id: string; name: string | null } | null
  version: string
  ready: boolean
  records: number
  stateHash: string
  dapps: ReturnType<DappHost['status']>
  /** author key → { seq, id } of the newest record held from each author. */
  heads: Record<string, { seq: number; id: string }>
  peers: ReturnType<SyncEngine['peers']>
  sync: SyncEngine['counters'] | null
  /** Clock trouble: remote clocks refused as implausibly far ahead, largest step back of the wall clock. */
  clock: { refusedAhead: number; steppedBackMs: number }
  uptimeS: number
  http: { host: string; port: number } | null
  broker: { host: string; port: number; refused: Record<string, number> } | null
  hardware: ReturnType<Hardware['status']>
}

export class LatchkeyNode extends Resource {
  readonly config: Config
  readonly log: Logger
  readonly now: () => number
  key: KeyPair | null = null
  http: HttpServer | null = null
  broker: EmbeddedBroker | null = null
  ledger: Ledger | null = null
  hardware: Hardware | null = null
  dapps: DappHost | null = null
  sync: SyncEngine | null = null
  readonly #dapps: readonly Dapp[]
  readonly #clock: Clock | undefined
  #components: Component[] = []
  #started: Component[] = []
  #startedAt = 0
  readonly #dataDir: DataDirLock
  readonly #setupToken: SetupToken

  constructor(opts: NodeOptions) {
    super()
    this.config = opts.config
    this.log = opts.log
    this.now = opts.now ?? Date.now
    this.#dapps = opts.dapps ?? []
    this.#clock = opts.clock
    this.#dataDir = new DataDirLock(opts.config.node.dataDir)
    this.#setupToken = new SetupToken(opts.config.node.dataDir)
  }

  get dataDir(): string {
    return this.config.node.dataDir
  }

  protected async _open(): Promise<void> {
    const { config, log } = this
    this.#startedAt = this.now()
    this.#dataDir.acquire()
    const { pair, created } = loadOrCreateKeyFile(join(this.dataDir, 'keys', 'node.key'))
    this.key = pair
    log.info({ key: pair.id, created }, created ? 'created node key' : 'loaded node key')

    // Hardware first: outputs reach their safe state before anything else starts.
    this.hardware = new Hardware({
      config: config.hardware,
      log: log.child({ component: 'hardware' }),
      ...(this.#clock ? { clock: this.#clock } : {}),
    })
    this.hardware.events.on('alarm', (a: { name: string; type: string; active: boolean }) =>
      log[a.active ? 'warn' : 'info'](
        a,
        `door alarm ${a.type} ${a.active ? 'raised' : 'cleared'} on ${a.name}`,
      ),
    )
    this.#components.push(this.hardware)
    this.ledger = new Ledger({
      file: join(this.dataDir, 'ledger.db'),
      log: log.child({ component: 'ledger' }),
      dapps: this.#dapps.map(ledgerDapp),
      checkpointWorker: true,
    })
    this.ledger.events.on('fork', (fork: ForkEvidence) => publishForkProof(this.ledger, this.key, log, fork))
    // A revocation drops the revoked key's broker session: once per batch, after the fold.
    let revalidateQueued = false
    this.ledger.events.on('applied', (r: { type: string }) => {
      if (!r.type.startsWith('site.') || revalidateQueued) return
      revalidateQueued = true
      queueMicrotask(() => {
        revalidateQueued = false
        this.broker?.revalidate()
      })
    })
    this.#components.push(this.ledger)
    this.dapps = new DappHost({
      dapps: this.#dapps,
      ledger: this.ledger,
      hardware: this.hardware,
      key: () => this.key,
      log: log.child({ component: 'dapps' }),
      ...(this.#clock ? { clock: this.#clock } : {}),
      readerOwners: readerOwners(config),
    })
    this.#components.push(this.dapps)
    if (config.mqtt.broker.enabled) {
      const bridges = config.mqtt.broker.bridges.map((b, i) => {
        // A configured bridge without its secret would be refused forever: stop here instead.
        if (b.password === null)
          throw errors.CONFIG_ENV(
            b.passwordEnv,
            `is not set: bridge "${b.name}" (mqtt.broker.bridges[${i}]) reads its password from it`,
          )
        return { name: b.name, password: b.password, rate: b.rate }
      })
      this.broker = new EmbeddedBroker({
        host: config.mqtt.broker.host,
        port: config.mqtt.broker.port,
        log: log.child({ component: 'broker' }),
        // Only keys enrolled in this node's ledger, right now, may connect; and the bridges
        // the config lists, each with its password.
        directory: () => (this.ledger?.opened ? this.ledger : null),
        bridges,
      })
      this.#components.push(this.broker)
    }
    this.#addMesh(pair)
    if (config.http.enabled) {
      this.http = new HttpServer({
        host: config.http.host,
        port: config.http.port,
        log: log.child({ component: 'http' }),
        // Only keys enrolled in this node's ledger, right now, may call the signed routes.
        directory: () => (this.ledger?.opened ? this.ledger : null),
        now: this.now,
      })
      this.http.route('GET', '/healthz', () => ({ ok: true }), 'public')
      this.http.route('GET', '/api/v1/status', ({ caller }) => this.#statusFor(caller), 'public')
      siteRoutes(this.http, {
        ledger: () => this.ledger,
        token: () => this.#setupToken.value,
        created: () => this.#setupToken.spend(),
        dataDir: this.dataDir,
      })
      ledgerRoutes(this.http, { ledger: () => this.ledger, nodeKey: () => pair.id })
      this.http.route('GET', '/api/v1/dapps/:dapp/:query', (req) =>
        this.dapps!.query(req.params.dapp!, req.params.query!, req.query),
      )
      this.#components.push(this.http)
    }
    for (const component of this.#components) {
      log.debug({ component: component.name }, 'starting')
      // The ledger is open by now: a node without a site offers a setup token before it listens.
      if (component === this.http) this.#setupToken.issue(!!this.ledger?.site, log)
      try {
        await component.ready()
      } catch (err) {
        // The component that failed is closed too: it may hold half-opened resources.
        this.#started.push(component)
        throw err
      }
      this.#started.push(component)
    }
    // Helper threads keep off one core, left to the event loop that decides at doors
    // (runtime/core/placement.ts).
    if (config.node.isolateEventLoop) {
      const placed = await isolateEventLoop()
      if ('placement' in placed)
        log.info(
          { eventLoopCpu: placed.placement.eventLoopCpu, helperCpus: placed.placement.helperCpus },
          'helper threads keep off the event loop core',
        )
      else log.info({ why: placed.skipped }, 'helper threads share every core with the event loop')
    }
    log.info({ node: config.node.name, dataDir: this.dataDir }, 'node ready')
  }

  protected async _close(): Promise<void> {
    const failures: unknown[] = []
    for (const component of this.#started.reverse()) {
      try {
        await component.close()
        this.log.debug({ component: component.name }, 'closed')
      } catch (err) {
        // Close every component even when one fails; report, never swallow.
        failures.push(err)
        this.log.error({ component: component.name, err }, 'component failed to close')
      }
    }
    this.#started = []
    this.#setupToken.spend()
    this.#dataDir.release()
    if (failures.length > 0) throw failures[0]
    this.log.info('node stopped')
  }

  /**
   * Sync: one engine, and one link per MQTT connection: this node's own broker (peers that dial
   * in meet there) and each configured peer, or one external site broker instead.
   */
  #addMesh(key: KeyPair): void {
    const { config, log } = this
    const ledger = this.ledger!
    this.sync = new SyncEngine({
      ledger,
      key,
      log: log.child({ component: 'sync' }),
      now: this.now,
      ...(this.#clock ? { clock: this.#clock } : {}),
    })
    this.#components.push(this.sync)
    const site = () => (this.ledger?.opened ? this.ledger.site : null)
    const link = (
      name: string,
      url: string | (() => string | null),
      extra: { username?: string; password?: string } = {},
    ) => {
      const l = new PeerLink({
        url,
        name,
        engine: this.sync!,
        key,
        site,
        log: log.child({ component: 'link', link: name }),
        ...extra,
      })
      this.#components.push(l)
    }
    const external = config.mqtt.external
    if (external) {
      link('external', external.url, {
        ...(external.username ? { username: external.username } : {}),
        ...(external.password ? { password: external.password } : {}),
      })
      return
    }
    if (config.mqtt.broker.enabled) {
      link('local', () => {
        const a = this.broker?.address
        return a ? `mqtt://${a.host === '0.0.0.0' ? '127.0.0.1' : a.host}:${a.port}` : null
      })
    }
    for (const [i, url] of config.mqtt.peers.entries()) link(`peer-${i}`, url)
  }

  /** The full status for a signed caller (or when the config opens it), the minimal one for anyone. */
  #statusFor(caller: Caller | null): NodeStatus | PublicNodeStatus {
    if (caller || this.config.http.publicStatus === 'full') return this.status()
    const site = this.ledger?.opened ? this.ledger.site : null
    return {
      node: { name: this.config.node.name },
      site: site ? { id: toHex(site) } : null,
      version: VERSION,
      ready: this.opened,
    }
  }

  status(): NodeStatus {
    const broker = this.broker?.address
    const ledger = this.ledger?.opened ? this.ledger : null
    const site = ledger?.site
    return {
      node: { name: this.config.node.name, key: this.key?.id ?? '' },
      site: site
        ? { id: toHex(site), name: ledger.view.get<{ name: string }>('site/info')?.name ?? null }
        : null,
      version: VERSION,
      ready: this.opened,
      records: ledger?.count ?? 0,
      stateHash: ledger?.stateHash ?? '',
      dapps: this.dapps?.opened ? this.dapps.status() : [],
      heads: ledger ? Object.fromEntries([...ledger.heads()].map(([k, h]) => [k, h])) : {},
      peers: this.sync?.opened ? this.sync.peers() : [],
      sync: this.sync?.opened ? { ...this.sync.counters } : null,
      clock: ledger
        ? { refusedAhead: ledger.admin.clock.refusedAhead, steppedBackMs: ledger.admin.clock.backwardsMs }
        : { refusedAhead: 0, steppedBackMs: 0 },
      uptimeS: Math.round((this.now() - this.#startedAt) / 100) / 10,
      http: this.http?.address ?? null,
      broker: broker && this.broker ? { ...broker, refused: { ...this.broker.refused } } : null,
      hardware: this.hardware?.opened
        ? this.hardware.status()
        : { gpio: null, outputs: [], inputs: [], readers: [] },
    }
  }
}

/**
 * A fork was detected at ingest: write the proof into the ledger (when this node's key is
 * enrolled) so every node cuts the forked key, not only the one that saw both branches.
 */
function publishForkProof(ledger: Ledger | null, key: KeyPair | null, log: Logger, fork: ForkEvidence): void {
  if (!ledger || !key || ledger.roleOf(key.id) === null) {
    log.error(
      { author: fork.author, seq: fork.seq },
      'fork detected; this node is not enrolled and cannot publish the proof',
    )
    return
  }
  ledger.append('site.fork', { a: fork.a, b: fork.b }, key).then(
    ({ rejection }) =>
      rejection
        ? log.error({ rejection, author: fork.author }, 'fork proof rejected')
        : log.warn({ author: fork.author, seq: fork.seq }, 'fork proof published; the key is cut'),
    (err) => log.error({ err }, 'fork proof could not be appended'),
  )
}
