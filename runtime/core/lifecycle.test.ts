import { describe, expect, it } from 'vitest'
import { Resource } from './lifecycle.ts'

class Probe extends Resource {
  opens = 0
  closes = 0
  fail = false
  protected async _open() {
    this.opens++
    await new Promise((r) => setTimeout(r, 5))
    if (this.fail) throw new Error('open failed')
  }
  protected async _close() {
    this.closes++
  }
}

describe('Resource', () => {
  it('ready() and close() are idempotent, also when called concurrently', async () => {
    const p = new Probe()
    await Promise.all([p.ready(), p.ready(), p.ready()])
    await Promise.all([p.close(), p.close()])
    await p.close()
    expect([p.opens, p.closes]).toEqual([1, 1])
    expect(p.closed).toBe(true)
  })

  it('close() during ready() waits for the open, then closes', async () => {
    const p = new Probe()
    const opening = p.ready()
    await p.close()
    await opening
    expect([p.opens, p.closes]).toEqual([1, 1])
  })

  it('a failed open is still closed, releasing what it opened', async () => {
    const p = new Probe()
    p.fail = true
    await expect(p.ready()).rejects.toThrow('open failed')
    await p.close()
    expect(p.closes).toBe(1)
  })

  it('close() without ready() does no work; ready() after close() is refused', async () => {
    const p = new Probe()
    await p.close()
    expect([p.opens, p.closes]).toEqual([0, 0])
    await expect(p.ready()).rejects.toThrow('closing')
  })

  it('constructing does no I/O', () => {
    const p = new Probe()
    expect(p.opens).toBe(0)
  })
})
