/**
 * Lifecycle you can call twice (after holepunch's ready-resource): `ready()` and `close()` are
 * idempotent and safe to call concurrently; subclasses implement `_open()` / `_close()`.
 * Constructors only assign fields; all I/O starts in `_open()`. `close()` before `ready()`
 * completes waits for the open to settle, then closes.
 */
export abstract class Resource {
  #opening: Promise<void> | null = null
  #closing: Promise<void> | null = null
  opened = false
  closed = false

  protected abstract _open(): Promise<void>
  protected abstract _close(): Promise<void>

  ready(): Promise<void> {
    if (this.#closing) return Promise.reject(new Error(`${this.constructor.name} is closing`))
    if (!this.#opening) {
      this.#opening = this._open().then(() => {
        this.opened = true
      })
    }
    return this.#opening
  }

  close(): Promise<void> {
    if (!this.#closing) this.#closing = this.#doClose()
    return this.#closing
  }

  async #doClose(): Promise<void> {
    if (this.#opening) {
      // A failed open still gets its _close so that partial work (timers, sockets) is released.
      await this.#opening.catch(() => {})
    }
    if (this.#opening) await this._close()
    this.closed = true
  }
}

/** A named component of a node: started in order, closed in reverse order. */
export interface Component {
  readonly name: string
  ready(): Promise<void>
  close(): Promise<void>
}
