/**
 * The HTTP JSON API (fastify). The same routes run on a Pi and on a server. Routes are
 * registered by their owners through `route()` before `ready()`; this file only serves them.
 *
 * Closed by default: every route but the few declared `public` answers signed requests of
 * enrolled keys only (runtime/http/signature.ts). An unsigned request to any other path, known
 * or not, gets 401 before its body is read; a signed one is verified before its handler runs.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { errors, httpErrors, isLatchkeyError } from '../core/errors/index.ts'
import { Resource } from '../core/lifecycle.ts'
import type { Logger } from '../core/log.ts'
import type { KeyDirectory } from '../mesh/auth.ts'
import { hasSignature, RequestNonces, verifyRequest } from './signature.ts'

export const BODY_LIMIT = 1 << 20

export interface HttpOptions {
  host: string
  port: number
  log: Logger
  /** The site id and each key's role now; null while the ledger is not open (every signature is then refused). */
  directory: () => KeyDirectory | null
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number
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
 * enrolled key; the default), or only the listed roles. A signed request to a public route is
 * still checked, and its handler sees the caller.
 */
export type Access = 'public' | 'signed' | { readonly roles: readonly string[] }

export type RouteHandler = (req: {
  params: Record<string, string>
  query: Record<string, string>
  /** The parsed JSON body of a POST. */
  body: unknown
  /** Request headers (lower-case names). */
  headers: IncomingHttpHeaders
  /** The authenticated signer; null only on public routes. */
  caller: Caller | null
}) => unknown | Promise<unknown>

interface Registered {
  method: 'GET' | 'POST'
  url: string
  handler: RouteHandler
  access: Access
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null
    rawBody: Buffer | null
  }
  interface FastifyContextConfig {
    access?: Access
  }
}

export class HttpServer extends Resource {
  readonly name = 'http'
  #opts: HttpOptions
  #routes: Registered[] = []
  #app: FastifyInstance | null = null
  readonly #nonces = new RequestNonces()

  constructor(opts: HttpOptions) {
    super()
    this.#opts = opts
  }

  route(method: 'GET' | 'POST', url: string, handler: RouteHandler, access: Access = 'signed'): void {
    if (this.opened) throw new Error(`route ${method} ${url} registered after the HTTP server started`)
    this.#routes.push({ method, url, handler, access })
  }

  /** Every registered route and who may call it (docs/PROTOCOL.md lists the same). */
  routes(): Array<{ method: 'GET' | 'POST'; url: string; access: Access }> {
    return this.#routes.map(({ method, url, access }) => ({ method, url, access }))
  }

  get address(): { host: string; port: number } | null {
    const server = this.#app?.server
    const a = server?.listening ? (server.address() as AddressInfo) : null
    return a ? { host: a.address, port: a.port } : null
  }

  /** Verifies the signature of a request, or refuses it. */
  async #authenticate(req: FastifyRequest): Promise<Caller> {
    return verifyRequest({
      method: req.method,
      url: req.url,
      headers: req.headers,
      body: req.rawBody,
      directory: this.#opts.directory(),
      nonces: this.#nonces,
      now: (this.#opts.now ?? Date.now)(),
    })
  }

  protected async _open(): Promise<void> {
    const log = this.#opts.log
    const app = Fastify({
      logger: false,
      bodyLimit: BODY_LIMIT,
      forceCloseConnections: true,
      // A target the router cannot even decode (`%ff`) is the client's mistake, in the catalogue's shape.
      frameworkErrors: (err, _req, reply) => {
        const e = httpErrors.BAD_REQUEST(err.message)
        void (reply as FastifyReply)
          .code(e.status)
          .send({ error: { ...e.details, code: e.code, message: e.message } })
      },
    })
    this.#app = app
    app.decorateRequest('caller', null)
    app.decorateRequest('rawBody', null)
    // JSON only, kept as received: the Content-Digest is over these exact bytes.
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
      req.rawBody = body as Buffer
      if ((body as Buffer).length === 0) return done(null, undefined)
      try {
        done(null, JSON.parse((body as Buffer).toString('utf8')))
      } catch {
        done(httpErrors.BAD_REQUEST('the body is not valid JSON'), undefined)
      }
    })
    // Rule: a request without a signature reaches only public routes; refused before its body is read.
    app.addHook('onRequest', async (req) => {
      const access = req.routeOptions.config?.access ?? 'signed'
      if (access !== 'public' && !hasSignature(req.headers))
        throw httpErrors.UNAUTHENTICATED(req.url.split('?')[0]!)
    })
    app.addHook('preValidation', async (req) => {
      const access = req.routeOptions.config?.access ?? 'signed'
      if (access === 'public' && !hasSignature(req.headers)) return
      const caller = await this.#authenticate(req)
      if (typeof access === 'object' && !access.roles.includes(caller.role))
        throw httpErrors.FORBIDDEN(`${req.method} ${req.routeOptions.url}`, caller.role, access.roles)
      req.caller = caller
    })
    app.setErrorHandler((err, req, reply) => {
      const e = isLatchkeyError(err) ? err : fromFastify(err, req.headers['content-type'])
      if (e.status >= 500) log.error({ err }, 'HTTP handler failed')
      return reply.code(e.status).send({ error: { ...e.details, code: e.code, message: e.message } })
    })
    app.setNotFoundHandler(async (req) => {
      // Only a signed caller learns that a path does not exist (the hooks above checked it).
      if (!req.caller) throw httpErrors.UNAUTHENTICATED(req.url.split('?')[0]!)
      throw httpErrors.NOT_FOUND(req.method, req.url)
    })
    for (const r of this.#routes) {
      app.route({
        method: r.method,
        url: r.url,
        config: { access: r.access },
        handler: (req) =>
          r.handler({
            params: req.params as Record<string, string>,
            query: req.query as Record<string, string>,
            body: req.body,
            headers: req.headers,
            caller: req.caller,
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

/** Fastify's own refusals (body too large, media type, bad JSON…) as catalogued 4xx errors. */
function fromFastify(err: unknown, contentType: string | undefined) {
  const { code, statusCode } = err as { code?: string; statusCode?: number }
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return httpErrors.BODY_TOO_LARGE(BODY_LIMIT)
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return httpErrors.MEDIA_TYPE(contentType ?? '')
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500)
    return httpErrors.BAD_REQUEST((err as Error).message)
  return httpErrors.INTERNAL((err as Error).message)
}
