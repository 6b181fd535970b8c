/**
 * What a node tells the certifications dapp: the readers that guard its tools (where trainers
 * sign members off) and its wall clock. Checked once, then frozen.
 */

import { certErrors } from '../../runtime/core/errors/index.ts'
import { TOOL_ID } from './body.ts'
import type { SignoffReader } from './reader-signoff.ts'

export interface CertificationsOptions {
  /** This board's tool readers (from machine-lockout `tools:`); none: the dapp only judges records. */
  signoffReaders?: ReadonlyArray<{ reader: string; tool: string; toolClass?: string; buzzer?: string }>
  /** Board wall clock, epoch ms (default `Date.now`): the badge times a sign-off carries. */
  now?: () => number
}

export interface CheckedCertificationsOptions {
  signoffReaders: readonly SignoffReader[]
  now: () => number
}

const KNOWN_TOP = ['signoffReaders', 'now']
const KNOWN_READER = ['reader', 'tool', 'toolClass', 'buzzer']
const CLASS_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/

export function checkCertificationsOptions(o: CertificationsOptions): CheckedCertificationsOptions {
  const fail = certErrors.CONFIG
  for (const k of Object.keys(o)) if (!KNOWN_TOP.includes(k)) throw fail(k, 'is not a certifications option')
  const list = o.signoffReaders ?? []
  if (!Array.isArray(list)) throw fail('signoffReaders', 'must be a list')
  const seen = new Set<string>()
  const signoffReaders = list.map((r, i): SignoffReader => {
    const at = `signoffReaders[${i}]`
    for (const k of Object.keys(r))
      if (!KNOWN_READER.includes(k)) throw fail(`${at}.${k}`, 'is not a reader option')
    if (typeof r.reader !== 'string' || r.reader === '') throw fail(`${at}.reader`, 'is required')
    // One reader, one tool: a sign-off names the reader, and the reader names the tool.
    if (seen.has(r.reader)) throw fail(`${at}.reader`, `${r.reader} is listed twice`)
    seen.add(r.reader)
    if (typeof r.tool !== 'string' || !TOOL_ID.test(r.tool) || r.tool.startsWith('class:'))
      throw fail(`${at}.tool`, 'must be a tool id ([a-z0-9][a-z0-9._-], at most 64)')
    if (r.toolClass !== undefined && !(typeof r.toolClass === 'string' && CLASS_ID.test(r.toolClass)))
      throw fail(`${at}.toolClass`, 'must be a class id ([a-z0-9][a-z0-9._-])')
    if (r.buzzer !== undefined && !(typeof r.buzzer === 'string' && r.buzzer !== ''))
      throw fail(`${at}.buzzer`, 'must be an output name')
    return Object.freeze({
      reader: r.reader,
      tool: r.tool,
      toolClass: r.toolClass ?? null,
      buzzer: r.buzzer ?? null,
    })
  })
  if (o.now !== undefined && typeof o.now !== 'function') throw fail('now', 'must be a function')
  return Object.freeze({ signoffReaders: Object.freeze(signoffReaders), now: o.now ?? Date.now })
}
