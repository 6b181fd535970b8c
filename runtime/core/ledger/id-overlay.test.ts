import { describe, expect, it } from 'vitest'
import { IdOverlay } from './id-overlay.ts'

const id = (n: number) => new Uint8Array(32).fill(n)

describe('IdOverlay', () => {
  it('finds each id among entries that share a prefix, and nothing else', () => {
    const o = new IdOverlay()
    for (let n = 1; n <= 6; n++) o.add(n % 2, id(n), 100 + n) // two prefixes, three ids each
    for (let n = 1; n <= 6; n++) expect(o.find(n % 2, id(n))).toBe(100 + n)
    expect(o.find(1, id(2))).toBe(-1) // stored under the other prefix
    expect(o.find(7, id(7))).toBe(-1)
  })

  it('drops a rolled-back tail: later entries of a prefix go, earlier ones stay', () => {
    const o = new IdOverlay()
    for (let n = 1; n <= 6; n++) o.add(n % 2, id(n), 100 + n)
    o.truncateFrom(104)
    expect(o.size).toBe(3)
    for (let n = 1; n <= 3; n++) expect(o.find(n % 2, id(n))).toBe(100 + n)
    for (let n = 4; n <= 6; n++) expect(o.find(n % 2, id(n))).toBe(-1)
    o.add(0, id(9), 104) // the rowid is taken again
    expect(o.find(0, id(9))).toBe(104)
    expect(o.find(0, id(2))).toBe(102)
  })

  it('drops a written head: chains that run into it end there', () => {
    const o = new IdOverlay()
    for (let n = 1; n <= 6; n++) o.add(n % 3, id(n), 100 + n)
    o.dropFirst(4)
    expect(o.size).toBe(2)
    expect([o.rowidAt(0), o.rowidAt(1)]).toEqual([105, 106])
    for (let n = 1; n <= 4; n++) expect(o.find(n % 3, id(n))).toBe(-1)
    expect(o.find(2, id(5))).toBe(105)
    expect(o.find(0, id(6))).toBe(106)
    o.add(1, id(7), 107)
    o.truncateFrom(107)
    expect(o.find(1, id(7))).toBe(-1)
    expect(o.find(2, id(5))).toBe(105)
    o.dropFirst(5)
    expect(o.size).toBe(0)
    expect(o.find(0, id(6))).toBe(-1)
  })

  it('grows past its first capacity and keeps every entry findable, also after dropping', () => {
    const o = new IdOverlay()
    const idOf = (n: number) => {
      const b = new Uint8Array(32)
      new DataView(b.buffer).setUint32(4, n)
      return b
    }
    for (let n = 0; n < 5000; n++) o.add(n % 97, idOf(n), n + 1) // 97 prefixes, many entries each
    for (let n = 0; n < 5000; n += 7) expect(o.find(n % 97, idOf(n))).toBe(n + 1)
    expect(o.find(3, idOf(5000))).toBe(-1)
    o.dropFirst(2500)
    o.truncateFrom(4001)
    expect(o.size).toBe(1500)
    for (let n = 0; n < 5000; n += 7) expect(o.find(n % 97, idOf(n))).toBe(n >= 2500 && n < 4000 ? n + 1 : -1)
    expect(Array.from(o.idAt(0))).toEqual(Array.from(idOf(2500)))
    expect(() => o.add(1, new Uint8Array(31), 1)).toThrow(RangeError)
  })

  it('takes all of another overlay, after its own entries, through growth', () => {
    const a = new IdOverlay()
    const b = new IdOverlay()
    const k = (n: number) => (n % 250) + 1 // ids 1..250, then 1..50 again
    for (let n = 0; n < 50; n++) a.add(k(n) % 7, id(k(n)), n + 1)
    for (let n = 50; n < 300; n++) b.add(k(n) % 7, id(k(n)), n + 1)
    a.addAll(b)
    expect(a.size).toBe(300)
    expect(b.size).toBe(250) // untouched
    for (let n = 50; n < 250; n++) expect(a.find(k(n) % 7, id(k(n)))).toBe(n + 1)
    // An id stored twice under one prefix: the later entry is found first.
    expect(a.find(4 % 7, id(4))).toBe(254)
    expect(a.rowidAt(299)).toBe(300)
    expect(Array.from(a.idAt(299))).toEqual(Array.from(id(50)))
    a.truncateFrom(251) // back to the entries before the second id(4)
    expect(a.find(4 % 7, id(4))).toBe(4)
  })
})
