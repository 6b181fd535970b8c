/**
 * The HTTP JSON API (fastify). The same routes run on a Pi and on a server. Routes are
 * registered by their owners through `route()` before `ready()`; this file only serves them.
 */
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import { errors, isLatchkeyError } from '../errors.ts'
import { Resource } from '../lifecycle.ts'
import type { Logger } from '../log.ts'

export interface HttpOptions {
  host: string
  port: number
  log: Logger
}

/** Who signed a request (HTTP Message Signatures, docs/PROTOCOL.md): an enrolled key and its role now. */
export interface Caller {
  /** The signer's public key, 64 lower-case hex digits. */
  readonly key: string
  /** Its role in the site at the time of the request ('admin' | 'device' | …). */
  readonly role: string
}

/**
 * Who may call a route: `public` (anyone; liveness and the minimal status only), `signed` (any
 * enrolled key; the default), or only the listed roles.
 */
export type Access = 'public' | 'signed' | { readonly roles: readonly string[] }

export type RouteHandler = (req: {
  params: Record<string, string>
  query: Record<string, string>
  /** The parsed JSON body of a POST. */
  body: unknown
  /** The authenticated signer; null only on public routes. */
  caller: Caller | null
}) => unknown | Promise<unknown>

export class HttpServer extends Resource {
  readonly name = 'http'
  #opts: HttpOptions
  #routes: Array<{ method: 'GET' | 'POST'; url: string; handler: RouteHandler; access: Access }> = []
  #app: FastifyInstance | null = null

  constructor(opts: HttpOptions) {
    super()
    this.#opts = opts
  }

  route(method: 'GET' | 'POST', url: string, handler: RouteHandler, access: Access = 'signed'): void {
    if (this.opened) throw new Error(`route ${method} ${url} registered after the HTTP server started`)
    this.#routes.push({ method, url, handler, access })
  }

  get address(): { host: string; port: number } | null {
    const server = this.#app?.server
    const a = server?.listening ? (server.address() as AddressInfo) : null
    return a ? { host: a.address, port: a.port } : null
  }

  protected async _open(): Promise<void> {
    const log = this.#opts.log
    const app = Fastify({ logger: false, bodyLimit: 1 << 20, forceCloseConnections: true })
    this.#app = app
    app.setErrorHandler((err, _req, reply) => {
      if (isLatchkeyError(err)) {
        if (err.status >= 500) log.error({ err }, 'HTTP handler failed')
        return reply
          .code(err.status)
          .send({ error: { ...err.details, code: err.code, message: err.message } })
      }
      const status = (err as { statusCode?: number }).statusCode ?? 500
      if (status >= 500) log.error({ err }, 'HTTP handler failed')
      return reply.code(status).send({
        error: { code: (err as { code?: string }).code ?? 'LK_HTTP', message: (err as Error).message },
      })
    })
    app.setNotFoundHandler((req, reply) =>
      reply
        .code(404)
        .send({ error: { code: 'LK_HTTP_NOT_FOUND', message: `no route ${req.method} ${req.url}` } }),
    )
    for (const r of this.#routes) {
      app.route({
        method: r.method,
        url: r.url,
        handler: (req) =>
          r.handler({
            params: req.params as Record<string, string>,
            query: req.query as Record<string, string>,
            body: req.body,
            caller: null,
          }),
      })
    }
    const { host, port } = this.#opts
    try {
      await app.listen({ host, port })
    } catch (err) {
      throw errors.LISTEN_FAILED(
        'HTTP API',
        `${host}:${port}`,
        (err as NodeJS.ErrnoException).code ?? String(err),
      )
    }
    log.info({ address: this.address }, 'HTTP API listening')
  }

  protected async _close(): Promise<void> {
    await this.#app?.close()
  }
}
