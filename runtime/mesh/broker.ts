/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1). Every hook denies by default; with a key
 * directory (the ledger) it admits keys enrolled on this site that present a fresh signed
 * token (./auth.ts), confines each to its own topic prefix, and drops sessions whose key is
 * revoked (`revalidate()`). Bridges (a site Mosquitto relaying other nodes' traffic) are a
 * separate role, closed unless configured: a static password per bridge, publish and subscribe
 * under the site's topics only. Rules: docs/PROTOCOL.md, "Broker authentication".
 * `drainTimeout` keeps one stuck subscriber from stalling the others.
 */

import { createHash, timingSafeEqual } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { createServer, type Server } from 'node:net'
import { Aedes, type AuthenticateError, type Client } from 'aedes'
import { errors } from '../core/errors.ts'
import { toHex } from '../core/ledger/record.ts'
import { Resource } from '../core/lifecycle.ts'
import type { Logger } from '../core/log.ts'
import { type AuthRefusal, checkToken, type KeyDirectory, NonceCache } from './auth.ts'

export interface BrokerOptions {
  host: string
  port: number
  log: Logger
  /** The site's key directory (the ledger) once open; without one every client is refused. */
  directory?: () => KeyDirectory | null
  /** Broker clock for token freshness and rate limits (ms). */
  now?: () => number
  /** Largest PUBLISH payload accepted (bytes). */
  maxPayloadBytes?: number
  /** Per-client publish rate: sustained messages per second, and burst. */
  rate?: { perSecond: number; burst: number }
  /** Bridges admitted with a static password (none by default: the bridge role starts closed). */
  bridges?: readonly BridgeCredential[]
}

/** A bridge (e.g. a site Mosquitto's `connection`) allowed to relay the site's topics. */
export interface BridgeCredential {
  /** The bridge's MQTT username; its client id is `<name>` or `<name>-<suffix>`. */
  name: string
  password: string
  /** Publish rate for this bridge; default DEFAULT_BRIDGE_RATE (it relays many nodes). */
  rate?: { perSecond: number; burst: number }
}

/** 256 KiB: a sync batch of 500 records of ~440 bytes fits. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024
export const DEFAULT_RATE = { perSecond: 200, burst: 400 }
/** A bridge carries every node behind it: ten times a single client's rate. */
export const DEFAULT_BRIDGE_RATE = { perSecond: 2000, burst: 4000 }

/** Why a connection, publish or subscription was refused, counted for status and metrics. */
export type RefusalReason =
  | AuthRefusal
  | 'client-id'
  | 'outside-prefix'
  | 'oversize'
  | 'rate'
  | 'revoked'
  | 'bad-password'

const REASONS: readonly RefusalReason[] = [
  'unauthenticated',
  'malformed',
  'wrong-site',
  'stale',
  'bad-signature',
  'replay',
  'not-enrolled',
  'client-id',
  'outside-prefix',
  'oversize',
  'rate',
  'revoked',
  'bad-password',
]

/** Topic prefix a key may publish under: `latchkey/<site hex>/node/<key hex>/`. */
export function nodePrefix(siteHex: string, keyHex: string): string {
  return `latchkey/${siteHex}/node/${keyHex}/`
}

/** Topic prefix any enrolled key may subscribe under: `latchkey/<site hex>/`. */
export function sitePrefix(siteHex: string): string {
  return `latchkey/${siteHex}/`
}

/** Topic prefix a bridge publishes its own state under (Mosquitto's `notification_topic`). */
export function bridgePrefix(siteHex: string, name: string): string {
  return `latchkey/${siteHex}/bridge/${name}/`
}

/** True when `topic` is strictly under `prefix` (at least one character after it). */
function under(topic: string, prefix: string): boolean {
  return topic.startsWith(prefix) && topic.length > prefix.length
}

const digest = (secret: string | Buffer) => createHash('sha256').update(secret).digest()

interface Session {
  /** The key hex, or the bridge name for a bridge session. */
  keyHex: string
  /** Set for a bridge session: the site's topics, a static password, its own rate. */
  bridge: { name: string; rate: { perSecond: number; burst: number } } | null
  tokens: number
  refilledAt: number
  /** Closed by revalidate(): its will and late packets are refused without counting again. */
  dropped: boolean
}

export class EmbeddedBroker extends Resource {
  readonly name = 'broker'
  readonly refused = Object.fromEntries(REASONS.map((r) => [r, 0])) as Record<RefusalReason, number>
  #opts: BrokerOptions
  #aedes: Aedes | null = null
  #server: Server | null = null
  #nonces = new NonceCache()
  #sessions = new WeakMap<Client, Session>()
  #now: () => number
  /** Bridge name → SHA-256 of its password (compared in constant time, never the text). */
  #bridges: Map<string, { digest: Buffer; rate: { perSecond: number; burst: number } }>

  constructor(opts: BrokerOptions) {
    super()
    this.#opts = opts
    this.#now = opts.now ?? Date.now
    this.#bridges = new Map(
      (opts.bridges ?? []).map((b) => [
        b.name,
        { digest: digest(b.password), rate: b.rate ?? DEFAULT_BRIDGE_RATE },
      ]),
    )
  }

  get address(): { host: string; port: number } | null {
    const a = this.#server?.address() as AddressInfo | null | undefined
    return a ? { host: a.address, port: a.port } : null
  }

  /**
   * Drops every connected client whose key is no longer enrolled on this site (revoked or
   * cut), or every client when there is no directory. Call after the ledger changes.
   * Returns how many sessions were dropped.
   */
  revalidate(): number {
    const aedes = this.#aedes
    if (!aedes) return 0
    const clients = (aedes as unknown as { clients: Record<string, Client> }).clients
    let dropped = 0
    for (const client of Object.values(clients)) {
      const session = this.#sessions.get(client)
      if (session?.dropped) continue
      // Bridges hold no key: the ledger cannot revoke them (remove them from the config).
      if (session?.bridge) continue
      if (session && this.#roleOf(session.keyHex) !== null) continue
      this.#refuse('revoked', client, session?.keyHex)
      if (session) session.dropped = true
      client.close()
      dropped++
    }
    return dropped
  }

  #roleOf(keyHex: string): string | null {
    return this.#opts.directory?.()?.roleOf(keyHex) ?? null
  }

  #siteHex(): string | null {
    const site = this.#opts.directory?.()?.site
    return site ? toHex(site) : null
  }

  #refuse(reason: RefusalReason, client: Client | null, key?: string, topic?: string): void {
    this.refused[reason]++
    this.#opts.log.warn({ client: client?.id, key, reason, topic }, 'broker refused a client')
  }

  #rateOf(s: Session): { perSecond: number; burst: number } {
    return s.bridge?.rate ?? this.#opts.rate ?? DEFAULT_RATE
  }

  /**
   * A bridge's CONNECT: the password must match (constant time over SHA-256 digests, so neither
   * the content nor the length leaks), and the client id must be the name or `<name>-…`.
   */
  #authenticateBridge(client: Client, name: string, password: Buffer): RefusalReason | null {
    const bridge = this.#bridges.get(name)!
    if (!timingSafeEqual(digest(password), bridge.digest)) return 'bad-password'
    if (client.id !== name && !client.id.startsWith(`${name}-`)) return 'client-id'
    this.#sessions.set(client, {
      keyHex: name,
      bridge: { name, rate: bridge.rate },
      tokens: bridge.rate.burst,
      refilledAt: this.#now(),
      dropped: false,
    })
    return null
  }

  /** Token bucket: refills continuously at `perSecond`, holds at most `burst`. */
  #takeToken(s: Session): boolean {
    const { perSecond, burst } = this.#rateOf(s)
    const now = this.#now()
    s.tokens = Math.min(burst, s.tokens + (Math.max(0, now - s.refilledAt) * perSecond) / 1000)
    s.refilledAt = now
    if (s.tokens < 1) return false
    s.tokens--
    return true
  }

  protected async _open(): Promise<void> {
    const log = this.#opts.log
    const aedes = await Aedes.createBroker({ drainTimeout: 5000, maxClientsIdLength: 128 })
    this.#aedes = aedes
    const notAuthorized = () => {
      // One answer for every refusal: the reason goes to the log and counters, not to the client.
      const err = new Error('not authorized') as AuthenticateError
      err.returnCode = 5
      return err
    }

    aedes.authenticate = (client, username, password, done) => {
      const directory = this.#opts.directory?.() ?? null
      if (!directory || !username || !password || password.length === 0) {
        this.#refuse('unauthenticated', client, username)
        return done(notAuthorized(), false)
      }
      // Rule: a configured bridge name is never a key (names are at most 32 characters, keys
      // 64 hex digits), and a bridge username never falls back to token checks.
      if (this.#bridges.has(username)) {
        const refusal = this.#authenticateBridge(client, username, Buffer.from(password))
        if (refusal) {
          this.#refuse(refusal, client, username)
          return done(notAuthorized(), false)
        }
        return done(null, true)
      }
      const result = checkToken({ username, password, directory, nonces: this.#nonces, now: this.#now() })
      if (!result.ok) {
        this.#refuse(result.reason, client, username)
        return done(notAuthorized(), false)
      }
      // Rule: a client id is the key hex, optionally `<key hex>-<suffix>`, so that no key can
      // take over (and aedes would close) another key's session by reusing its client id.
      if (client.id !== username && !client.id.startsWith(`${username}-`)) {
        this.#refuse('client-id', client, username)
        return done(notAuthorized(), false)
      }
      const burst = (this.#opts.rate ?? DEFAULT_RATE).burst
      this.#sessions.set(client, {
        keyHex: result.keyHex,
        bridge: null,
        tokens: burst,
        refilledAt: this.#now(),
        dropped: false,
      })
      done(null, true)
    }

    // A refused publish makes aedes close the connection (MQTT 3.1.1 has no negative PUBACK).
    aedes.authorizePublish = (client, packet, done) => {
      const session = client ? this.#sessions.get(client) : undefined
      const siteHex = this.#siteHex()
      if (session?.dropped) return done(new Error('not authorized'))
      if (!client || !session || !siteHex) {
        this.#refuse('unauthenticated', client)
        return done(new Error('not authorized'))
      }
      if (!session.bridge && this.#roleOf(session.keyHex) === null) {
        this.#refuse('revoked', client, session.keyHex)
        return done(new Error('not authorized'))
      }
      // Rule: a key publishes only under latchkey/<site>/node/<its key>/…; a bridge relays any
      // node's topics latchkey/<site>/node/… and its own state latchkey/<site>/bridge/<name>/…
      // (the records and summaries it relays are signed by their authors). $SYS, other sites
      // and everything else are refused.
      const allowed = session.bridge
        ? under(packet.topic, `${sitePrefix(siteHex)}node/`) ||
          under(packet.topic, bridgePrefix(siteHex, session.bridge.name))
        : under(packet.topic, nodePrefix(siteHex, session.keyHex))
      if (!allowed) {
        this.#refuse('outside-prefix', client, session.keyHex, packet.topic)
        return done(new Error('not authorized'))
      }
      if ((packet.payload?.length ?? 0) > (this.#opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES)) {
        this.#refuse('oversize', client, session.keyHex)
        return done(new Error('payload too large'))
      }
      if (!this.#takeToken(session)) {
        this.#refuse('rate', client, session.keyHex)
        return done(new Error('publish rate exceeded'))
      }
      done(null)
    }

    // A refused subscription is answered with SUBACK 0x80; the connection stays up.
    aedes.authorizeSubscribe = (client, sub, done) => {
      const session = this.#sessions.get(client)
      const siteHex = this.#siteHex()
      if (session?.dropped) return done(null, null)
      if (!session || !siteHex) {
        this.#refuse('unauthenticated', client)
        return done(null, null)
      }
      if (!session.bridge && this.#roleOf(session.keyHex) === null) {
        this.#refuse('revoked', client, session.keyHex)
        return done(null, null)
      }
      // Rule: enrolled keys and bridges subscribe under latchkey/<site>/… only (no `#`, `+/…`,
      // `$SYS/…`).
      if (!sub.topic.startsWith(sitePrefix(siteHex))) {
        this.#refuse('outside-prefix', client, session.keyHex, sub.topic)
        return done(null, null)
      }
      done(null, sub)
    }

    // No Nagle: sync is request/answer; a delayed ACK per small message would stall each round trip.
    const server = createServer((socket) => {
      socket.setNoDelay(true)
      aedes.handle(socket)
    })
    this.#server = server
    const { host, port } = this.#opts
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(errors.LISTEN_FAILED('MQTT broker', `${host}:${port}`, err.code ?? err.message)),
      )
      server.listen(port, host, () => resolve())
    })
    log.info({ address: this.address }, 'embedded MQTT broker listening')
  }

  protected async _close(): Promise<void> {
    // aedes first: it disconnects the clients; the server's close waits for every open socket.
    const aedes = this.#aedes
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()))
    const server = this.#server
    if (server?.listening) {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
