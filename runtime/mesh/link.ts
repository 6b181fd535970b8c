/**
 * One MQTT connection a node keeps for sync: to a neighbour's embedded broker, to its own
 * broker, or to one external broker. Every connection attempt is a fresh mqtt.js client with
 * a fresh token (./auth.ts: tokens are single-use and expire), so the reconnect loop is ours:
 * exponential backoff with jitter between `minBackoffMs` and `maxBackoffMs`, reset by a
 * successful connect. Each connected client is attached to the SyncEngine under this link's name.
 *
 * The client's will clears this node's retained summary (empty retained payload) when the
 * connection dies; a graceful close clears it too.
 */
import mqtt, { type MqttClient } from 'mqtt'
import type { KeyPair } from '../core/keys.ts'
import { Resource } from '../core/lifecycle.ts'
import type { Logger } from '../core/log.ts'
import { makeToken } from './auth.ts'
import type { SyncEngine } from './sync.ts'

export interface PeerLinkOptions {
  /** mqtt://host:port, or a function read at each attempt (e.g. the own broker's bound port). */
  url: string | (() => string | null)
  /** Shown in status and logs; unique per engine. */
  name: string
  engine: SyncEngine
  key: KeyPair
  /** The site id, read at each attempt (null: no site yet, wait). */
  site: () => Uint8Array | null
  log: Logger
  now?: () => number
  /** Static credentials for an external broker; default: key hex + a fresh signed token. */
  username?: string
  password?: string
  /** Client id suffix (`<key hex>-<suffix>`); defaults to a random one per link. */
  clientSuffix?: string
  minBackoffMs?: number
  maxBackoffMs?: number
  connectTimeoutMs?: number
  /** Random in [0, 1): jitter source, injectable for tests. */
  random?: () => number
}

export class PeerLink extends Resource {
  readonly name: string
  /** Connection attempts made, and successful connects. */
  readonly stats = { attempts: 0, connects: 0 }
  #opts: PeerLinkOptions
  #client: MqttClient | null = null
  #timer: ReturnType<typeof setTimeout> | null = null
  #failures = 0
  #stopping = false
  #suffix: string

  constructor(opts: PeerLinkOptions) {
    super()
    this.#opts = opts
    this.name = opts.name
    this.#suffix = opts.clientSuffix ?? `sync-${Math.random().toString(36).slice(2, 10)}`
  }

  get connected(): boolean {
    return this.#client?.connected === true
  }

  /** Starts dialling; resolves at once (the peer may be down: the link keeps trying). */
  protected async _open(): Promise<void> {
    this.#dial()
  }

  protected async _close(): Promise<void> {
    this.#stopping = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    const client = this.#client
    this.#client = null
    this.#opts.engine.detach(this.name)
    if (!client) return
    const topic = this.#opts.engine.summaryTopic()
    if (client.connected && topic) {
      // Graceful: clear our retained summary (the will only fires on an unclean drop).
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000)
        client.publish(topic, Buffer.alloc(0), { qos: 1, retain: true }, () => {
          clearTimeout(t)
          resolve()
        })
      })
    }
    await new Promise<void>((resolve) => client.end(true, {}, () => resolve()))
  }

  #dial(): void {
    if (this.#stopping || this.#client) return
    const o = this.#opts
    const site = o.site()
    if (!site && o.password === undefined) {
      this.#retry('no site yet')
      return
    }
    const url = typeof o.url === 'string' ? o.url : o.url()
    if (!url) {
      this.#retry('no address yet')
      return
    }
    const topic = o.engine.summaryTopic()
    this.stats.attempts++
    const client = mqtt.connect(url, {
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: o.connectTimeoutMs ?? 5000,
      keepalive: 30,
      clientId: `${o.key.id}-${this.#suffix}`,
      username: o.username ?? o.key.id,
      password: o.password ?? makeToken(o.key, site!, (o.now ?? Date.now)()),
      ...(topic ? { will: { topic, payload: Buffer.alloc(0), qos: 1 as const, retain: true } } : {}),
    })
    this.#client = client
    o.engine.attach(client, this.name)
    client.on('connect', () => {
      // No Nagle on the link either: requests and batches are small, latency-bound messages.
      ;(client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true)
      this.#failures = 0
      this.stats.connects++
      o.log.info({ link: this.name, url }, 'peer link connected')
    })
    client.on('error', (err) => o.log.debug({ link: this.name, err: err.message }, 'peer link error'))
    client.once('close', () => {
      if (this.#client !== client) return
      this.#client = null
      o.engine.detach(this.name)
      client.end(true)
      this.#retry('closed')
    })
  }

  #retry(why: string): void {
    if (this.#stopping || this.#timer) return
    const min = this.#opts.minBackoffMs ?? 500
    const max = this.#opts.maxBackoffMs ?? 30_000
    const base = Math.min(max, min * 2 ** Math.min(this.#failures, 16))
    const delay = Math.round(base / 2 + (base / 2) * (this.#opts.random ?? Math.random)())
    this.#failures++
    this.#opts.log.debug({ link: this.name, why, delay }, 'peer link retrying')
    this.#timer = setTimeout(() => {
      this.#timer = null
      this.#dial()
    }, delay)
  }
}
