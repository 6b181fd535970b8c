/**
 * A client of the latchkey HTTP API that signs every request (runtime/http/signature.ts) with a
 * key it holds; the key never leaves this process. Inputs are a base URL, a key pair and,
 * optionally, `fetch` and a clock: nothing of the node itself.
 *
 * A node that refuses a signature for its clock (LK_HTTP_CLOCK_SKEW) says its own time; the
 * client then signs again once with that offset and keeps it for later requests.
 */
import { sign } from 'node:crypto'
import { errors, LatchkeyError } from '../core/errors/index.ts'
import type { KeyPair } from '../core/keys.ts'
import type { Rejection } from '../core/ledger/reasons.ts'
import {
  decodeRecordBytes,
  encodeBody,
  equalBytes,
  fromHex,
  toHex,
  wireBytes,
} from '../core/ledger/record.ts'
import { signRequest } from './signature.ts'

/** The largest clock correction a client takes from a node (boards boot hours or days off, not years). */
const MAX_CLOCK_OFFSET_MS = 24 * 60 * 60_000
/** Prepare-and-sign rounds for one record when writes keep overtaking it. */
const STALE_RETRIES = 3

export interface ClientOptions {
  /** e.g. http://127.0.0.1:7480 */
  baseUrl: string
  /** The signing key; without one only public routes answer. */
  key?: KeyPair | null
  /** The site id (64 hex); learned from the public status when not given. */
  site?: string
  fetch?: typeof fetch
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number
  /** Per-request timeout (default 5000 ms). */
  timeoutMs?: number
}

/** The minimal status every caller may read. */
export interface PublicStatus {
  node: { name: string }
  site: { id: string } | null
  version: string
  ready: boolean
}

export class LatchkeyClient {
  readonly baseUrl: string
  readonly key: KeyPair | null
  #site: string | null
  readonly #fetch: typeof fetch
  readonly #now: () => number
  readonly #timeoutMs: number
  /** Node clock − our clock, learned from a clock refusal. */
  clockOffsetMs = 0

  constructor(opts: ClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '')
    this.key = opts.key ?? null
    this.#site = opts.site ?? null
    this.#fetch = opts.fetch ?? fetch
    this.#now = opts.now ?? Date.now
    this.#timeoutMs = opts.timeoutMs ?? 5000
  }

  /** The site id the node serves (from its public status), or null when it has none yet. */
  async site(): Promise<string | null> {
    if (this.#site === null) this.#site = (await this.publicStatus()).site?.id ?? null
    return this.#site
  }

  /** `GET /api/v1/status` unsigned: name, version, site id, ready. */
  async publicStatus(): Promise<PublicStatus> {
    return this.call<PublicStatus>('GET', '/api/v1/status', undefined, { sign: false })
  }

  /** The full status when this key is enrolled, else the public one. */
  async status(): Promise<Record<string, unknown>> {
    if (!this.key || (await this.site()) === null)
      return (await this.publicStatus()) as unknown as Record<string, unknown>
    return this.get('/api/v1/status')
  }

  /** A signed GET; the JSON answer, or the node's refusal thrown as a LatchkeyError with its code. */
  async get<T = Record<string, unknown>>(path: string): Promise<T> {
    return this.call<T>('GET', path)
  }

  /** A signed POST of a JSON body. */
  async post<T = Record<string, unknown>>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body)
  }

  /** One request (signed unless `sign: false`); the JSON answer, or the node's refusal thrown with its code. */
  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    opts: { sign?: boolean; headers?: Record<string, string> } = {},
  ): Promise<T> {
    return (await this.#json(
      await this.send(method, path, body === undefined ? undefined : JSON.stringify(body), opts),
    )) as T
  }

  /**
   * Writes a record as this client's key: the node prepares it (`/api/v1/ledger/prepare`), the
   * client checks it says what was asked, signs its id here and submits it. The node's answer:
   * the record id and, when a dapp refused it, why.
   */
  async appendRecord(type: string, body: unknown): Promise<{ id: string; rejection: Rejection | null }> {
    // A record that another write overtook between prepare and submit (LK_RECORD_STALE) is
    // prepared and signed again: its seq was never stored, so signing it anew forks nothing.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#appendOnce(type, body)
      } catch (err) {
        if ((err as { code?: string }).code !== 'LK_RECORD_STALE' || attempt >= STALE_RETRIES) throw err
      }
    }
  }

  async #appendOnce(type: string, body: unknown): Promise<{ id: string; rejection: Rejection | null }> {
    if (!this.key) throw errors.CLI_USAGE('writing a record needs a signing key')
    const bodyBytes = encodeBody(body)
    const prepared = await this.post<{ record: string }>('/api/v1/ledger/prepare', {
      type,
      body: toHex(bodyBytes),
      author: this.key.id,
    })
    // Sign only what was asked for: the node chose seq, prev, parents and clock, nothing else.
    const r = decodeRecordBytes(fromHex(prepared.record))
    if (r.type !== type || !equalBytes(r.body, bodyBytes) || !equalBytes(r.author, this.key.publicKey))
      throw errors.NODE_REFUSED(
        this.baseUrl,
        'the node prepared a record other than the one asked for; nothing was signed',
      )
    const sig = new Uint8Array(sign(null, r.id, this.key.privateKeyObject))
    const doc = await this.post<{ id: string; rejection?: Rejection | null }>('/api/v1/ledger/submit', {
      wire: toHex(wireBytes({ sig, bytes: r.bytes })),
    })
    return { id: doc.id, rejection: doc.rejection ?? null }
  }

  /**
   * Sends one request (signed unless `sign: false`) and returns the raw response; retries once
   * with the node's clock when the node refuses the signature's time.
   */
  async send(
    method: string,
    path: string,
    body?: string,
    opts: { sign?: boolean; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const url = `${this.baseUrl}${path}`
    const attempt = async () => {
      const headers: Record<string, string> = { ...opts.headers }
      if (body !== undefined) headers['content-type'] ??= 'application/json'
      if (opts.sign !== false) {
        if (!this.key) throw errors.CLI_USAGE(`${method} ${path} needs a signing key`)
        const site = await this.site()
        if (site === null) throw errors.NO_SITE(this.baseUrl)
        Object.assign(
          headers,
          await signRequest({
            method,
            url,
            body: body ?? '',
            key: this.key,
            site,
            now: this.#now() + this.clockOffsetMs,
          }),
        )
      }
      try {
        return await this.#fetch(url, {
          method,
          headers,
          ...(body !== undefined ? { body } : {}),
          signal: AbortSignal.timeout(this.#timeoutMs),
        })
      } catch (err) {
        const e = err as Error
        throw errors.NODE_UNREACHABLE(this.baseUrl, e.cause ? String(e.cause) : e.message)
      }
    }
    const res = await attempt()
    if (res.status !== 401 || opts.sign === false) return res
    const doc = (await res
      .clone()
      .json()
      .catch(() => null)) as { error?: { code?: string; now?: number } } | null
    if (doc?.error?.code !== 'LK_HTTP_CLOCK_SKEW' || typeof doc.error.now !== 'number') return res
    // The node's time comes from an unsigned answer: taken only within a day of ours, and kept
    // only when the retry with it is accepted.
    const offset = doc.error.now - this.#now()
    if (Math.abs(offset) > MAX_CLOCK_OFFSET_MS) return res
    const previous = this.clockOffsetMs
    this.clockOffsetMs = offset
    const retried = await attempt()
    if (retried.status === 401) this.clockOffsetMs = previous
    return retried
  }

  async #json(res: Response): Promise<unknown> {
    const doc = (await res.json().catch(() => null)) as {
      error?: { code?: string; message?: string } & Record<string, unknown>
    } | null
    if (res.ok) return doc
    const { code, message, ...details } = doc?.error ?? {}
    throw new LatchkeyError(
      code ?? 'LK_HTTP',
      res.status < 500 ? 'usage' : 'operational',
      `${this.baseUrl}: ${message ?? `HTTP ${res.status}`}`,
      details,
      undefined,
      res.status,
    )
  }
}
