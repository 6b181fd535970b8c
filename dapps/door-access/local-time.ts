/**
 * Local calendar time in the site's IANA time zone, from `Intl.DateTimeFormat` (no dependency):
 * schedules, holidays and membership expiry dates are local, the clock is UTC milliseconds.
 * Formatters are memoised per time zone (building one costs far more than using it); the memo
 * holds no behaviour, so these stay pure functions of (ms, timeZone).
 */

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const
export type Weekday = (typeof WEEKDAYS)[number]

export interface LocalTime {
  /** `YYYY-MM-DD` in the time zone. */
  date: string
  weekday: Weekday
  /** Minutes since local midnight, 0–1439. */
  minute: number
}

const formatters = new Map<string, Intl.DateTimeFormat>()
const WEEKDAY_BY_NAME: Readonly<Record<string, Weekday>> = {
  Mon: 'mon',
  Tue: 'tue',
  Wed: 'wed',
  Thu: 'thu',
  Fri: 'fri',
  Sat: 'sat',
  Sun: 'sun',
}

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
    formatters.set(timeZone, f)
  }
  return f
}

/** Whether `timeZone` is an IANA zone this Node knows (e.g. `Europe/Berlin`, `UTC`). */
export function isTimeZone(timeZone: unknown): timeZone is string {
  if (typeof timeZone !== 'string' || timeZone === '') return false
  try {
    formatter(timeZone)
    return true
  } catch {
    return false
  }
}

/** The local date, weekday and minute of `ms` (UTC epoch milliseconds) in `timeZone`. */
export function localTime(ms: number, timeZone: string): LocalTime {
  let year = ''
  let month = ''
  let day = ''
  let weekday: Weekday = 'mon'
  let hour = 0
  let minute = 0
  for (const p of formatter(timeZone).formatToParts(ms)) {
    switch (p.type) {
      case 'year':
        year = p.value
        break
      case 'month':
        month = p.value
        break
      case 'day':
        day = p.value
        break
      case 'weekday':
        weekday = WEEKDAY_BY_NAME[p.value] ?? 'mon'
        break
      case 'hour':
        hour = Number(p.value) % 24
        break
      case 'minute':
        minute = Number(p.value)
        break
    }
  }
  return { date: `${year}-${month}-${day}`, weekday, minute: hour * 60 + minute }
}

/** `YYYY-MM-DD` of `ms` in `timeZone` (the `today` that membership and certification expiry take). */
export function localDate(ms: number, timeZone: string): string {
  return localTime(ms, timeZone).date
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/

/** Minutes since midnight of `HH:MM` (`24:00` = 1440), or null when malformed. */
export function parseHhmm(s: unknown): number | null {
  if (typeof s !== 'string') return null
  const m = HHMM.exec(s)
  if (!m) return null
  if (s === '24:00') return 1440
  return Number(m[1]) * 60 + Number(m[2])
}
