/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1). Every hook denies by default: until the mesh
 * layer installs an authenticator that recognises enrolled keys of this site, no client can
 * connect. `drainTimeout` keeps one stuck subscriber from stalling the others.
 */

import type { AddressInfo } from 'node:net'
import { createServer, type Server } from 'node:net'
import { Aedes, type AuthenticateError } from 'aedes'
import { errors } from '../errors.ts'
import { Resource } from '../lifecycle.ts'
import type { Logger } from '../log.ts'

export interface BrokerOptions {
  host: string
  port: number
  log: Logger
}

/** Why a connection was refused, counted for status and metrics. */
export type RefusalReason = 'unauthenticated'

export class EmbeddedBroker extends Resource {
  readonly name = 'broker'
  readonly refused: Record<RefusalReason, number> = { unauthenticated: 0 }
  #opts: BrokerOptions
  #aedes: Aedes | null = null
  #server: Server | null = null

  constructor(opts: BrokerOptions) {
    super()
    this.#opts = opts
  }

  get address(): { host: string; port: number } | null {
    const a = this.#server?.address() as AddressInfo | null | undefined
    return a ? { host: a.address, port: a.port } : null
  }

  protected async _open(): Promise<void> {
    const log = this.#opts.log
    const aedes = await Aedes.createBroker({ drainTimeout: 5000, maxClientsIdLength: 64 })
    this.#aedes = aedes
    aedes.authenticate = (client, username, _password, done) => {
      // Rule: no unauthenticated broker client. Key-based authentication arrives with the mesh.
      this.refused.unauthenticated++
      log.warn({ client: client?.id, username, reason: 'unauthenticated' }, 'broker refused a client')
      const err = new Error('not authorized') as AuthenticateError
      err.returnCode = 5
      done(err, false)
    }
    aedes.authorizePublish = (_client, _packet, done) => done(new Error('not authorized'))
    aedes.authorizeSubscribe = (_client, _sub, done) => done(new Error('not authorized'), null)
    const server = createServer(aedes.handle)
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
    const server = this.#server
    if (server?.listening) {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
    const aedes = this.#aedes
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()))
  }
}
