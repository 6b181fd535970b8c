/**
 * Member import and export as CSV: header `id,name,contact,status,expires,groups,staff`, groups
 * separated by `;`. No CSV library is installed, so `parseCsv` is a small RFC 4180 parser
 * (quoted fields, `""` for a quote, commas and line breaks inside quotes, CRLF or LF).
 *
 * Import is all or nothing: every bad row is reported with its line number and reason, and
 * when any row is bad no row is imported (a half-imported member list is worse than none: the
 * operator fixes the file and runs the same import again). Import never removes members that
 * are not in the file.
 */
import { getMember, type Member, type MemberStatus } from '../dapps/membership/model.ts'
import { memberProblem } from '../dapps/membership/rules.ts'
import type { StateView } from '../runtime/core/ledger/state.ts'

export const CSV_COLUMNS = ['id', 'name', 'contact', 'status', 'expires', 'groups', 'staff'] as const
type Column = (typeof CSV_COLUMNS)[number]

export interface CsvRow {
  /** Line (1-based) where the row starts; a quoted field may span several lines. */
  line: number
  fields: string[]
}

export interface CsvProblem {
  line: number
  reason: string
}

/**
 * RFC 4180: rows end at CRLF, LF or CR outside quotes; a field in double quotes may hold
 * commas, quotes (doubled) and line breaks. A quote inside an unquoted field, text after a
 * closing quote, or a quote left open are problems, reported with the row's first line.
 * A leading byte-order mark is dropped; blank lines are skipped.
 */
export function parseCsv(text: string): { rows: CsvRow[]; problems: CsvProblem[] } {
  const rows: CsvRow[] = []
  const problems: CsvProblem[] = []
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0
  let line = 1
  while (i < text.length) {
    const start = line
    const fields: string[] = []
    let problem: string | null = null
    // One row: fields separated by commas, up to the end of the line outside quotes.
    for (;;) {
      let field = ''
      if (text[i] === '"') {
        i++
        let closed = false
        while (i < text.length) {
          const ch = text[i]!
          if (ch === '"') {
            if (text[i + 1] === '"') {
              field += '"'
              i += 2
              continue
            }
            i++
            closed = true
            break
          }
          if (ch === '\n' || (ch === '\r' && text[i + 1] !== '\n')) line++
          field += ch
          i++
        }
        if (!closed) problem ??= 'a quoted field is not closed (a " is missing)'
        else if (i < text.length && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
          problem ??= 'text follows a closing quote (write a quote inside a quoted field as "")'
          while (i < text.length && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') i++
        }
      } else {
        while (i < text.length && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
          if (text[i] === '"') problem ??= 'a quote inside an unquoted field (quote the whole field)'
          field += text[i]
          i++
        }
      }
      fields.push(field)
      if (text[i] === ',') {
        i++
        continue
      }
      break
    }
    // End of row: CRLF, LF, CR or end of text.
    if (text[i] === '\r') i++
    if (text[i] === '\n') i++
    line++
    if (problem) problems.push({ line: start, reason: problem })
    else if (!(fields.length === 1 && fields[0]!.trim() === '')) rows.push({ line: start, fields })
  }
  return { rows, problems }
}

const STAFF_VALUES: Record<string, boolean> = {
  true: true,
  yes: true,
  '1': true,
  false: false,
  no: false,
  '0': false,
}

/**
 * Parses a member CSV. Returns the members, or every problem (line and reason) when any row is
 * bad. Fields are trimmed; empty `contact`/`expires` mean none, empty `status` means active,
 * empty `staff` means false (`true/false`, `yes/no`, `1/0` are accepted).
 */
export function parseMembersCsv(
  text: string,
): { ok: true; members: Member[] } | { ok: false; problems: CsvProblem[] } {
  const { rows, problems } = parseCsv(text)
  const header = rows.shift()
  if (!header) {
    return {
      ok: false,
      problems: [...problems, { line: 1, reason: `no header row (${CSV_COLUMNS.join(',')})` }],
    }
  }
  const names = header.fields.map((f) => f.trim().toLowerCase())
  const index = new Map<Column, number>()
  for (const col of CSV_COLUMNS) {
    const at = names.indexOf(col)
    if (at < 0) problems.push({ line: header.line, reason: `the header has no column ${col}` })
    else index.set(col, at)
  }
  const unknown = names.filter((n) => !(CSV_COLUMNS as readonly string[]).includes(n))
  if (unknown.length > 0)
    problems.push({ line: header.line, reason: `unknown column ${JSON.stringify(unknown[0])} in the header` })
  if (new Set(names).size !== names.length)
    problems.push({ line: header.line, reason: 'a column appears twice in the header' })
  if (problems.some((p) => p.line === header.line)) return { ok: false, problems: sortProblems(problems) }

  const members: Member[] = []
  const seen = new Map<string, number>()
  for (const row of rows) {
    if (row.fields.length !== names.length) {
      problems.push({
        line: row.line,
        reason: `has ${row.fields.length} fields, the header has ${names.length}`,
      })
      continue
    }
    const get = (col: Column) => row.fields[index.get(col)!]!.trim()
    const staff = STAFF_VALUES[get('staff').toLowerCase() || 'false']
    const status = (get('status').toLowerCase() || 'active') as MemberStatus
    const member: Member = {
      id: get('id'),
      name: get('name'),
      contact: get('contact') || null,
      status,
      expires: get('expires') || null,
      groups: get('groups')
        .split(';')
        .map((g) => g.trim())
        .filter((g) => g !== ''),
      staff: staff ?? false,
    }
    const problem =
      staff === undefined
        ? `staff ${JSON.stringify(get('staff'))} must be true or false`
        : memberProblem(member)
    if (problem) {
      problems.push({ line: row.line, reason: problem })
      continue
    }
    const first = seen.get(member.id)
    if (first !== undefined) {
      problems.push({ line: row.line, reason: `member ${member.id} is already on line ${first}` })
      continue
    }
    seen.set(member.id, row.line)
    members.push(member)
  }
  if (problems.length > 0) return { ok: false, problems: sortProblems(problems) }
  return { ok: true, members }
}

function sortProblems(problems: CsvProblem[]): CsvProblem[] {
  return problems.sort((a, b) => a.line - b.line)
}

/** A field as RFC 4180 writes it: quoted when it holds a comma, quote, line break or edge space. */
function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replaceAll('"', '""')}"` : value
}

/** Members as CSV (CRLF line ends, members in id order), the format import reads. */
export function membersToCsv(members: readonly Member[]): string {
  const lines = [CSV_COLUMNS.join(',')]
  for (const m of [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    lines.push(
      [m.id, m.name, m.contact ?? '', m.status, m.expires ?? '', m.groups.join(';'), String(m.staff)]
        .map(csvField)
        .join(','),
    )
  }
  return `${lines.join('\r\n')}\r\n`
}

export interface PlannedRecord {
  type: 'membership.put' | 'membership.status'
  body: unknown
  member: string
}

/**
 * The records an import writes against the current state: a `membership.put` for each new or
 * changed member (unchanged members are skipped, so importing an export writes nothing), and,
 * since a put never lifts a suspension (dapps/membership/README.md), a `membership.status` after
 * the put when the file un-suspends a member.
 */
export function planImport(members: readonly Member[], state: StateView, source: string): PlannedRecord[] {
  const out: PlannedRecord[] = []
  for (const m of members) {
    const old = getMember(state, m.id)
    if (old && sameMember(old, m)) continue
    out.push({ type: 'membership.put', body: m, member: m.id })
    if (old?.status === 'suspended' && m.status !== 'suspended') {
      out.push({
        type: 'membership.status',
        body: { id: m.id, status: m.status, reason: `imported from ${source}`.slice(0, 256) },
        member: m.id,
      })
    }
  }
  return out
}

function sameMember(a: Member, b: Member): boolean {
  return (
    a.name === b.name &&
    a.contact === b.contact &&
    a.status === b.status &&
    a.expires === b.expires &&
    a.staff === b.staff &&
    a.groups.length === b.groups.length &&
    a.groups.every((g, i) => g === b.groups[i])
  )
}
