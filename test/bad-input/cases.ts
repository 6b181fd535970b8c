/**
 * The catalogue of hostile inputs. Each case provokes one bad input against the shared node
 * (./harness.ts) and names the stable code it must get back: an `LK_…` code with the CLI's exit
 * code or the HTTP status; commander's code for an argument the parser refuses; for MQTT, the
 * broker refusal reason or sync counter that the node's status counts (`broker.stale`,
 * `sync.badPayload`); for a refused record, its reason (`MALFORMED`…). The runner
 * (./bad-input.test.ts) also checks that the node still serves and that its record count and
 * state hash, and every file the case guarded, are unchanged.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { loadConfigFile } from '../../runtime/config/load.ts'
import type { KeyPair } from '../../runtime/core/keys.ts'
import { encodeWire, fromHex, type RecordFields, signRecord } from '../../runtime/core/ledger/record.ts'
import {
  batchTopic,
  encodeBatch,
  encodeRequest,
  encodeSummary,
  liveTopic,
  requestTopic,
  summaryTopic,
} from '../../runtime/mesh/sync-messages.ts'
import {
  type CliResult,
  cli,
  connect,
  creds,
  dataDirWith,
  end,
  file,
  garbage,
  http,
  ledgerBytes,
  type Outcome,
  publishAsDevice,
  randomKey,
  refusalOf,
  replayed,
  type Shared,
  startNode,
  status,
  toHex,
  token,
} from './harness.ts'

export type Category = 'cli' | 'config' | 'csv' | 'http' | 'mqtt' | 'ledger' | 'export' | 'credential' | 'key'

export interface BadInput {
  category: Category
  name: string
  run: (s: Shared) => Promise<Outcome>
  /** The outcome it must get: every field given here must match. */
  expect: Outcome
  /** CLI cases: stderr is one sentence (`latchkey: …`, no stack). Default true for CLI outcomes. */
  oneLine?: boolean
  /** afterMerge only: the branches whose merge makes this case pass (all of them). */
  pending?: Branch | readonly Branch[]
  /** A running case that is no bad input once this branch is merged (it leaves the table). */
  retiredBy?: Branch
}

/** Branches developed beside this one that change what some bad inputs get. */
export type Branch = 'auth' | 'seqrules' | 'storage'

const usage = (code: string): Outcome => ({ code, exit: 2 })
const failed = (code: string): Outcome => ({ code, exit: 1 })
const parser = (code: string): Outcome => ({ code: `commander.${code}`, exit: 2 })
const bad = (status: number, code: string, reason?: string): Outcome => ({
  code,
  status,
  ...(reason ? { reason } : {}),
})

const run =
  (...argv: string[]) =>
  (s: Shared): Promise<CliResult> =>
    cli(s, argv)

// ── CLI: arguments to latchkey commands ──────────────────────────────────────────────────

const cliCases: BadInput[] = [
  { category: 'cli', name: 'an unknown command', run: run('sattus'), expect: parser('unknownCommand') },
  {
    category: 'cli',
    name: 'an unknown subcommand',
    run: run('member', 'ad', 'bob'),
    expect: parser('unknownCommand'),
  },
  {
    category: 'cli',
    name: 'an unknown option',
    run: run('status', '--jsno'),
    expect: parser('unknownOption'),
  },
  {
    category: 'cli',
    name: 'an option without its value',
    run: run('run', '--config'),
    expect: parser('optionMissingArgument'),
  },
  {
    category: 'cli',
    name: 'a required option left out',
    run: run('member', 'add', 'bob'),
    expect: parser('missingMandatoryOptionValue'),
  },
  {
    category: 'cli',
    name: 'a required argument left out',
    run: run('badge', 'bind', 'em:1'),
    expect: parser('missingArgument'),
  },
  {
    category: 'cli',
    name: 'a member id in capitals',
    run: run('member', 'add', 'Bob', '--name', 'Bob'),
    expect: usage('LK_MEMBER_INVALID'),
  },
  {
    category: 'cli',
    name: 'a member id that is a path',
    run: run('member', 'add', '../../etc/passwd', '--name', 'x'),
    expect: usage('LK_MEMBER_INVALID'),
  },
  {
    category: 'cli',
    name: 'a member id of 65 characters',
    run: run('member', 'add', 'a'.repeat(65), '--name', 'x'),
    expect: usage('LK_MEMBER_INVALID'),
  },
  {
    category: 'cli',
    name: 'a name with a control character',
    run: run('member', 'add', 'bob', '--name', 'Bob\u0007'),
    expect: usage('LK_MEMBER_INVALID'),
  },
  {
    category: 'cli',
    name: 'a month 13',
    run: run('member', 'add', 'bob', '--name', 'Bob', '--expires', '2030-13-01'),
    expect: usage('LK_MEMBER_INVALID'),
  },
  {
    category: 'cli',
    name: 'February 30',
    run: run('member', 'add', 'bob', '--name', 'Bob', '--expires', '2030-02-30'),
    expect: usage('LK_MEMBER_INVALID'),
  },
  {
    category: 'cli',
    name: 'a date in another format',
    run: run('member', 'add', 'bob', '--name', 'Bob', '--expires', '31/12/2030'),
    expect: usage('LK_MEMBER_INVALID'),
  },
  {
    category: 'cli',
    name: 'renew to a past date',
    run: run('member', 'renew', 'alice', '--expires', '2001-01-01'),
    expect: usage('LK_MEMBER_INVALID'),
  },
  {
    category: 'cli',
    name: 'a certification that expired years ago',
    run: run('cert', 'grant', 'alice', 'laser', '--expires', '2001-01-01'),
    expect: usage('LK_CLI_USAGE'),
  },
  {
    category: 'cli',
    name: 'renew to a word',
    run: run('member', 'renew', 'alice', '--expires', 'soon'),
    expect: usage('LK_MEMBER_INVALID'),
  },
  {
    category: 'cli',
    name: 'an unknown status word',
    run: run('member', 'set-status', 'alice', 'banned'),
    expect: usage('LK_MEMBER_INVALID'),
  },
  {
    category: 'cli',
    name: 'a status for nobody',
    run: run('member', 'set-status', 'nobody', 'suspended'),
    expect: usage('LK_MEMBER_UNKNOWN'),
  },
  {
    category: 'cli',
    name: 'renewing nobody',
    run: run('member', 'renew', 'nobody', '--expires', '2030-01-01'),
    expect: usage('LK_MEMBER_UNKNOWN'),
  },
  {
    category: 'cli',
    name: 'adding a member who exists',
    run: run('member', 'add', 'alice', '--name', 'Alice Again'),
    expect: usage('LK_MEMBER_EXISTS'),
  },
  {
    category: 'cli',
    name: 'a badge id of 5 digits',
    run: run('badge', 'bind', '12345', 'alice'),
    expect: usage('LK_BADGE_INVALID'),
  },
  {
    category: 'cli',
    name: 'a badge for nobody',
    run: run('badge', 'bind', 'em:4335412', 'nobody'),
    expect: { ...usage('LK_BADGE_CHECK') },
  },
  {
    category: 'cli',
    name: 'a badge status that does not exist',
    run: run('badge', 'revoke', 'em:4335412', '--status', 'gone'),
    expect: usage('LK_BADGE_INVALID'),
  },
  {
    category: 'cli',
    name: 'a certification for a bad member id',
    run: run('cert', 'grant', 'Bad', 'laser'),
    expect: usage('LK_CLI_USAGE'),
  },
  {
    category: 'cli',
    name: 'a certification for a bad tool id',
    run: run('cert', 'grant', 'alice', 'Laser!'),
    expect: usage('LK_CLI_USAGE'),
  },
  {
    category: 'cli',
    name: 'a certification that expires on February 30',
    run: run('cert', 'grant', 'alice', 'laser', '--expires', '2030-02-30'),
    expect: usage('LK_CLI_USAGE'),
  },
  {
    category: 'cli',
    name: 'a revocation reason of 257 characters',
    run: run('cert', 'revoke', 'alice', 'laser', '--reason', 'x'.repeat(257)),
    expect: usage('LK_CLI_USAGE'),
  },
  {
    category: 'cli',
    name: 'ledger show -n 0',
    run: run('ledger', 'show', '-n', '0'),
    expect: usage('LK_CLI_USAGE'),
  },
  {
    category: 'cli',
    name: 'ledger show -n lots',
    run: run('ledger', 'show', '-n', 'lots'),
    expect: usage('LK_CLI_USAGE'),
  },
  {
    category: 'cli',
    name: 'a second site on the same node',
    run: run('site', 'init', '--name', 'Another Space'),
    expect: usage('LK_SITE_EXISTS'),
  },
  {
    category: 'cli',
    name: 'a site --site that is not a site id',
    run: run('cert', 'verify', '/dev/null', '--site', 'XYZ'),
    expect: usage('LK_CLI_USAGE'),
  },
  {
    category: 'cli',
    name: 'a command this build does not have',
    run: run('device', 'list'),
    expect: parser('unknownCommand'),
  },
  {
    category: 'cli',
    name: 'status of a node that does not answer',
    run: run('status', '--url', 'http://127.0.0.1:9'),
    expect: failed('LK_NODE_UNREACHABLE'),
  },
  {
    category: 'cli',
    name: 'a data directory without a site',
    run: (s) => {
      const dir = join(s.scratch, 'no-site')
      mkdirSync(dir, { recursive: true })
      return cli(s, ['member', 'list'], { LATCHKEY_DATA_DIR: dir, LATCHKEY_HTTP_PORT: '1' })
    },
    expect: usage('LK_NO_SITE'),
  },
  {
    category: 'cli',
    name: 'an HTTP port that is not a number',
    run: (s) => cli(s, ['member', 'list'], { LATCHKEY_HTTP_PORT: 'eighty' }),
    expect: usage('LK_CONFIG_ENV'),
  },
]

// ── config: YAML files given to `latchkey run --config` ──────────────────────────────────

/** `latchkey run --config <file>` with the file; the node must never start on a bad one. */
const config =
  (name: string, yaml: string | Uint8Array, env: NodeJS.ProcessEnv = {}) =>
  async (s: Shared) => {
    const path = file(s, name, yaml)
    // The shared node's overrides are blanked (an empty variable is not applied).
    const own = { LATCHKEY_DATA_DIR: '', LATCHKEY_HTTP_PORT: '', ...env }
    // A config that loads would start a second node in this process: check it first.
    try {
      loadConfigFile(path, { env: own })
    } catch {
      return cli(s, ['run', '--config', path], own)
    }
    return { code: 'the config loaded' }
  }

const doorWith = (reader: string, lock = 'front-lock', kind = 'lock') =>
  [
    'hardware:',
    '  outputs:',
    `    - { name: front-lock, kind: ${kind}, line: { chip: gpiochip0, offset: 17 } }`,
    '  readers:',
    '    - { type: wedge, name: front, path: /dev/input/event0 }',
    'doors:',
    `  - { name: front, reader: ${reader}, lock: ${lock} }`,
    '',
  ].join('\n')

const configCases: BadInput[] = [
  {
    category: 'config',
    name: 'a bracket left open',
    run: config('open.yaml', 'node:\n  name: [unclosed\n'),
    expect: usage('LK_CONFIG_YAML'),
  },
  {
    category: 'config',
    name: 'a tab for indentation',
    run: config('tab.yaml', 'http:\n\tport: 80\n'),
    expect: usage('LK_CONFIG_YAML'),
  },
  {
    category: 'config',
    name: 'a key given twice',
    run: config('twice.yaml', 'http:\n  port: 1\n  port: 2\n'),
    expect: usage('LK_CONFIG_YAML'),
  },
  // Garbage bytes mostly parse as one YAML scalar: a document that is not a mapping.
  {
    category: 'config',
    name: 'binary garbage',
    run: config('garbage.yaml', garbage(512)),
    expect: usage('LK_CONFIG_INVALID'),
  },
  {
    category: 'config',
    name: 'a list at the top',
    run: config('list.yaml', '- a\n- b\n'),
    expect: usage('LK_CONFIG_INVALID'),
  },
  {
    category: 'config',
    name: 'a scalar at the top',
    run: config('scalar.yaml', 'just text\n'),
    expect: usage('LK_CONFIG_INVALID'),
  },
  {
    category: 'config',
    name: 'an unknown section',
    run: config('unknown.yaml', 'htpp:\n  port: 80\n'),
    expect: usage('LK_CONFIG_UNKNOWN_KEY'),
  },
  {
    category: 'config',
    name: 'a misspelt key',
    run: config('typo.yaml', 'http:\n  prot: 80\n'),
    expect: usage('LK_CONFIG_UNKNOWN_KEY'),
  },
  {
    category: 'config',
    name: 'an unknown key on an output',
    run: config(
      'output-key.yaml',
      'hardware:\n  outputs:\n    - { name: l, kind: lock, line: { name: GPIO17 }, pulse: 3 }\n',
    ),
    expect: usage('LK_CONFIG_UNKNOWN_KEY'),
  },
  {
    category: 'config',
    name: 'a port that is a word',
    run: config('port-word.yaml', 'http:\n  port: eighty\n'),
    expect: usage('LK_CONFIG_INVALID'),
  },
  {
    category: 'config',
    name: 'port 70000',
    run: config('port-big.yaml', 'http:\n  port: 70000\n'),
    expect: usage('LK_CONFIG_INVALID'),
  },
  {
    category: 'config',
    name: 'port -1',
    run: config('port-neg.yaml', 'mqtt:\n  broker:\n    port: -1\n'),
    expect: usage('LK_CONFIG_INVALID'),
  },
  {
    category: 'config',
    name: 'port 80.5',
    run: config('port-frac.yaml', 'http:\n  port: 80.5\n'),
    expect: usage('LK_CONFIG_INVALID'),
  },
  {
    category: 'config',
    name: 'a duration "5s"',
    run: config('dur-text.yaml', 'shutdown:\n  timeoutMs: 5s\n'),
    expect: usage('LK_CONFIG_INVALID'),
  },
  {
    category: 'config',
    name: 'a negative duration',
    run: config('dur-neg.yaml', 'shutdown:\n  timeoutMs: -1\n'),
    expect: usage('LK_CONFIG_INVALID'),
  },
  {
    category: 'config',
    name: 'an unlock pulse of 10 ms',
    run: config(
      'pulse.yaml',
      'hardware:\n  outputs:\n    - { name: l, kind: lock, line: { name: GPIO17 }, pulseMs: 10 }\n',
    ),
    expect: usage('LK_CONFIG_INVALID'),
  },
  {
    category: 'config',
    name: 'a boolean that is a word',
    run: config('bool.yaml', 'http:\n  enabled: perhaps\n'),
    expect: usage('LK_CONFIG_INVALID'),
  },
  {
    category: 'config',
    name: 'a log level that does not exist',
    run: config('level.yaml', 'log:\n  level: loud\n'),
    expect: usage('LK_CONFIG_INVALID'),
  },
  {
    category: 'config',
    name: 'a time zone that does not exist',
    run: config('tz.yaml', 'site:\n  timeZone: Mars/Olympus\n'),
    expect: usage('LK_CONFIG_INVALID'),
  },
  {
    category: 'config',
    name: 'a peer that is not a URL',
    run: config('peer.yaml', 'mqtt:\n  peers: [not a url]\n'),
    expect: usage('LK_CONFIG_INVALID'),
  },
  {
    category: 'config',
    name: 'a node name with spaces',
    run: config('name.yaml', 'node:\n  name: front door\n'),
    expect: usage('LK_CONFIG_INVALID'),
  },
  {
    category: 'config',
    name: 'a door naming an unknown reader',
    run: config('door-reader.yaml', doorWith('back')),
    expect: usage('LK_CONFIG_INVALID'),
  },
  {
    category: 'config',
    name: 'a door naming an unknown lock',
    run: config('door-lock.yaml', doorWith('front', 'side-lock')),
    expect: usage('LK_CONFIG_INVALID'),
  },
  {
    category: 'config',
    name: 'a door whose lock is a relay',
    run: config('door-relay.yaml', doorWith('front', 'front-lock', 'relay')),
    expect: usage('LK_CONFIG_INVALID'),
  },
  {
    category: 'config',
    name: 'two outputs of one name',
    run: config(
      'dup-output.yaml',
      'hardware:\n  outputs:\n    - { name: l, kind: lock, line: { name: A } }\n    - { name: l, kind: relay, line: { name: B } }\n',
    ),
    expect: usage('LK_CONFIG_INVALID'),
  },
  {
    category: 'config',
    name: 'a reader of an unknown type',
    run: config('reader-type.yaml', 'hardware:\n  readers:\n    - { type: telepathy, name: r }\n'),
    expect: usage('LK_CONFIG_INVALID'),
  },
  {
    category: 'config',
    name: 'a bridge password shorter than 16',
    run: config(
      'bridge.yaml',
      'mqtt:\n  broker:\n    bridges:\n      - { name: site, passwordEnv: LK_TEST_BRIDGE }\n',
      {
        LK_TEST_BRIDGE: 'short',
      },
    ),
    expect: usage('LK_CONFIG_ENV'),
  },
  {
    category: 'config',
    name: 'a config file that does not exist',
    run: (s) => cli(s, ['run', '--config', join(s.scratch, 'missing.yaml')]),
    expect: usage('LK_CONFIG_NOT_FOUND'),
  },
  {
    category: 'config',
    name: 'a config path that is a directory',
    run: (s) => cli(s, ['run', '--config', s.scratch]),
    expect: usage('LK_CONFIG_UNREADABLE'),
  },
]

// ── CSV: member import ───────────────────────────────────────────────────────────────────

const HEADER = 'id,name,contact,status,expires,groups,staff'
const csv = (name: string, content: string | Uint8Array) => (s: Shared) =>
  cli(s, ['member', 'import', file(s, name, content)])
const rows = (...lines: string[]) => `${[HEADER, ...lines].join('\r\n')}\r\n`

const csvCases: BadInput[] = [
  {
    category: 'csv',
    name: 'an empty file',
    run: csv('empty.csv', ''),
    expect: usage('LK_MEMBER_CSV_BAD_ROWS'),
  },
  {
    category: 'csv',
    name: 'only a byte-order mark',
    run: csv('bom.csv', '\uFEFF'),
    expect: usage('LK_MEMBER_CSV_BAD_ROWS'),
  },
  {
    category: 'csv',
    name: 'binary garbage',
    run: csv('garbage.csv', garbage(2048)),
    expect: usage('LK_MEMBER_CSV_BAD_ROWS'),
  },
  {
    category: 'csv',
    name: 'a column missing',
    run: csv('cols.csv', 'id,name,contact,status,expires,groups\r\nbob,Bob,,active,,\r\n'),
    expect: usage('LK_MEMBER_CSV_BAD_ROWS'),
  },
  {
    category: 'csv',
    name: 'an unknown column',
    run: csv('extra-col.csv', `${HEADER},shoe\r\nbob,Bob,,active,,,false,42\r\n`),
    expect: usage('LK_MEMBER_CSV_BAD_ROWS'),
  },
  {
    category: 'csv',
    name: 'a column twice',
    run: csv('twice.csv', `${HEADER},id\r\nbob,Bob,,active,,,false,bob\r\n`),
    expect: usage('LK_MEMBER_CSV_BAD_ROWS'),
  },
  {
    category: 'csv',
    name: 'a row with too many fields',
    run: csv('fields.csv', rows('bob,Bob,,active,,,false,extra')),
    expect: usage('LK_MEMBER_CSV_BAD_ROWS'),
  },
  {
    category: 'csv',
    name: 'one id twice',
    run: csv('dup.csv', rows('bob,Bob,,active,,,false', 'bob,Robert,,active,,,false')),
    expect: usage('LK_MEMBER_CSV_BAD_ROWS'),
  },
  {
    category: 'csv',
    name: 'a bad date',
    run: csv('date.csv', rows('bob,Bob,,active,2030-02-30,,false')),
    expect: usage('LK_MEMBER_CSV_BAD_ROWS'),
  },
  {
    category: 'csv',
    name: 'a bad status',
    run: csv('status.csv', rows('bob,Bob,,banned,,,false')),
    expect: usage('LK_MEMBER_CSV_BAD_ROWS'),
  },
  {
    category: 'csv',
    name: 'a bad staff flag',
    run: csv('staff.csv', rows('bob,Bob,,active,,,maybe')),
    expect: usage('LK_MEMBER_CSV_BAD_ROWS'),
  },
  {
    category: 'csv',
    name: 'a quote left open',
    run: csv('quote.csv', rows('bob,"Bob,,active,,,false')),
    expect: usage('LK_MEMBER_CSV_BAD_ROWS'),
  },
  {
    category: 'csv',
    name: 'a good row and a bad one (all or none)',
    run: csv('half.csv', rows('carol,Carol,,active,,,false', 'Dave,Dave,,active,,,false')),
    expect: usage('LK_MEMBER_CSV_BAD_ROWS'),
  },
  {
    category: 'csv',
    name: 'a file that does not exist',
    run: (s) => cli(s, ['member', 'import', join(s.scratch, 'nope.csv')]),
    expect: usage('LK_MEMBER_CSV_READ'),
  },
  {
    category: 'csv',
    name: 'a directory for a file',
    run: (s) => cli(s, ['member', 'import', s.scratch]),
    expect: usage('LK_MEMBER_CSV_READ'),
  },
]

// ── HTTP ─────────────────────────────────────────────────────────────────────────────────

const submit = (json: unknown) => (s: Shared) => http(s, '/api/v1/ledger/submit', { json, signed: true })
/** A prepare request signed by the admin. */
const prepare = (json: unknown) => (s: Shared) => http(s, '/api/v1/ledger/prepare', { json, signed: true })

/** A record by `key` that would follow the key's head on the shared node, with `over` applied. */
async function craft(
  s: Shared,
  key: KeyPair,
  over: Partial<RecordFields> = {},
  signer: KeyPair = key,
): Promise<string> {
  const st = await status(s)
  const head = st.heads[key.id]
  const fields: RecordFields = {
    v: 1,
    site: fromHex(s.siteHex),
    author: key.publicKey,
    seq: (head?.seq ?? 0) + 1,
    prev: head ? fromHex(head.id) : null,
    parents: [],
    hlc: { ms: Date.now(), c: 0 },
    type: 'membership.put',
    body: dagCbor.encode({
      id: 'mallory',
      name: 'Mallory',
      contact: null,
      status: 'active',
      expires: null,
      groups: [],
      staff: false,
    }),
    ...over,
  }
  const r = signRecord(fields, signer.privateKeyObject)
  return toHex(encodeWire(fields, r.sig))
}
const crafted =
  (make: (s: Shared) => Promise<string>) =>
  async (s: Shared): Promise<Outcome> =>
    http(s, '/api/v1/ledger/submit', { json: { wire: await make(s) }, signed: true })

/** CBOR of the float 1.5 (canonical dag-cbor writes floats as 64-bit). */
const FLOAT = 'fb3ff8000000000000'

const httpCases: BadInput[] = [
  {
    category: 'http',
    name: 'an unknown route',
    run: (s) => http(s, '/api/v1/nope', { signed: true }),
    expect: bad(404, 'LK_HTTP_NOT_FOUND'),
  },
  {
    category: 'http',
    name: 'a path that climbs out',
    run: (s) => http(s, '/../../etc/passwd', { signed: true }),
    expect: bad(404, 'LK_HTTP_NOT_FOUND'),
  },
  {
    category: 'http',
    name: 'DELETE on status',
    run: (s) => http(s, '/api/v1/status', { method: 'DELETE', signed: true }),
    expect: bad(404, 'LK_HTTP_NOT_FOUND'),
  },
  {
    category: 'http',
    name: 'POST on status',
    run: (s) => http(s, '/api/v1/status', { json: {}, signed: true }),
    expect: bad(404, 'LK_HTTP_NOT_FOUND'),
  },
  {
    category: 'http',
    name: 'GET on submit',
    run: (s) => http(s, '/api/v1/ledger/submit', { signed: true }),
    expect: bad(404, 'LK_HTTP_NOT_FOUND'),
  },
  {
    category: 'http',
    name: 'PUT on prepare',
    run: (s) => http(s, '/api/v1/ledger/prepare', { method: 'PUT', json: {}, signed: true }),
    expect: bad(404, 'LK_HTTP_NOT_FOUND'),
  },
  {
    category: 'http',
    name: 'a query of an unknown dapp',
    run: (s) => http(s, '/api/v1/dapps/nope/list', { signed: true }),
    expect: bad(400, 'LK_DAPP_QUERY'),
  },
  {
    category: 'http',
    name: 'an unknown query of a dapp',
    run: (s) => http(s, '/api/v1/dapps/membership/nope', { signed: true }),
    expect: bad(400, 'LK_DAPP_QUERY'),
  },
  {
    category: 'http',
    name: 'a member query with an id that is a path',
    run: (s) => http(s, '/api/v1/dapps/membership/member?id=..%2F..%2Fetc', { signed: true }),
    expect: bad(400, 'LK_MEMBER_INVALID'),
  },
  {
    category: 'http',
    name: 'a member query with the id given twice',
    run: (s) => http(s, '/api/v1/dapps/membership/member?id=alice&id=alice', { signed: true }),
    expect: bad(400, 'LK_MEMBER_INVALID'),
  },
  {
    category: 'http',
    name: 'a member query for nobody',
    run: (s) => http(s, '/api/v1/dapps/membership/member?id=nobody', { signed: true }),
    expect: bad(400, 'LK_MEMBER_UNKNOWN'),
  },
  {
    category: 'http',
    name: 'a badge query with a badge id of garbage',
    run: (s) => http(s, '/api/v1/dapps/credentials/badge?id=%00%FF', { signed: true }),
    expect: bad(400, 'LK_BADGE_INVALID'),
  },
  {
    category: 'http',
    name: 'a certification query without a member',
    run: (s) => http(s, '/api/v1/dapps/certifications/certs', { signed: true }),
    expect: bad(400, 'LK_CERT_QUERY'),
  },
  {
    category: 'http',
    name: 'a proposals query with an unknown status',
    run: (s) => http(s, '/api/v1/dapps/governance/proposals?status=rigged', { signed: true }),
    expect: bad(400, 'LK_GOV_QUERY'),
  },
  {
    category: 'http',
    name: 'submit: a wire that is not hex',
    run: submit({ wire: 'zz' }),
    expect: bad(400, 'LK_HTTP_BAD_REQUEST'),
  },
  {
    category: 'http',
    name: 'submit: upper-case hex',
    run: submit({ wire: 'ABCD' }),
    expect: bad(400, 'LK_HTTP_BAD_REQUEST'),
  },
  {
    category: 'http',
    name: 'submit: an odd number of hex digits',
    run: submit({ wire: 'abc' }),
    expect: bad(400, 'LK_HTTP_BAD_REQUEST'),
  },
  {
    category: 'http',
    name: 'submit: a wire that is a number',
    run: submit({ wire: 12 }),
    expect: bad(400, 'LK_HTTP_BAD_REQUEST'),
  },
  { category: 'http', name: 'submit: no wire', run: submit({}), expect: bad(400, 'LK_HTTP_BAD_REQUEST') },
  {
    category: 'http',
    name: 'submit: a JSON array',
    run: submit([1, 2]),
    expect: bad(400, 'LK_HTTP_BAD_REQUEST'),
  },
  { category: 'http', name: 'submit: JSON null', run: submit(null), expect: bad(400, 'LK_HTTP_BAD_REQUEST') },
  {
    category: 'http',
    name: 'submit: a text/plain body',
    run: (s) =>
      http(s, '/api/v1/ledger/submit', { raw: '{"wire":"00"}', contentType: 'text/plain', signed: true }),
    expect: bad(400, 'LK_HTTP_BAD_REQUEST'),
  },
  {
    category: 'http',
    name: 'submit: a truncated wire',
    run: submit({ wire: 'ff'.repeat(40) }),
    expect: bad(400, 'LK_RECORD_REFUSED', 'MALFORMED'),
  },
  {
    category: 'http',
    name: 'submit: garbage wire',
    run: submit({ wire: toHex(garbage(300)) }),
    expect: bad(400, 'LK_RECORD_REFUSED', 'MALFORMED'),
  },
  {
    category: 'http',
    name: 'submit: a record signed by another key',
    run: crafted((s) => craft(s, s.admin, {}, randomKey())),
    expect: bad(400, 'LK_RECORD_REFUSED', 'BAD_SIGNATURE'),
  },
  {
    category: 'http',
    name: 'submit: a record for another site',
    run: crafted((s) => craft(s, s.admin, { site: garbage(32, 3) })),
    expect: bad(400, 'LK_RECORD_REFUSED', 'WRONG_SITE'),
  },
  {
    category: 'http',
    name: 'submit: a record body that is not CBOR',
    run: crafted((s) => craft(s, s.admin, { body: fromHex('ff') })),
    expect: bad(400, 'LK_RECORD_REFUSED', 'MALFORMED'),
  },
  {
    category: 'http',
    name: 'submit: a float in a record body',
    run: crafted((s) => craft(s, s.admin, { body: fromHex(`a16161${FLOAT}`) })),
    expect: bad(400, 'LK_RECORD_REFUSED', 'MALFORMED'),
  },
  {
    category: 'http',
    name: 'submit: a type string of capitals and spaces',
    run: crafted((s) => craft(s, s.admin, { type: 'Member Put' })),
    expect: bad(400, 'LK_RECORD_REFUSED', 'BAD_FIELD'),
  },
  {
    category: 'http',
    name: 'submit: a record type no dapp owns',
    run: crafted((s) => craft(s, s.admin, { type: 'nosuch.thing' })),
    expect: bad(400, 'LK_RECORD_REFUSED', 'UNKNOWN_TYPE'),
    // seqrules stores a record of an unknown type and folds it once a dapp owns the type.
    retiredBy: 'seqrules',
  },
  {
    category: 'http',
    name: 'submit: a record by a key nobody enrolled',
    run: crafted((s) => craft(s, randomKey())),
    expect: bad(400, 'LK_RECORD_REFUSED', 'NOT_AUTHORIZED'),
  },
  {
    category: 'http',
    name: 'submit: a record whose prev is wrong',
    run: crafted((s) => craft(s, s.admin, { prev: garbage(32, 5) })),
    expect: bad(400, 'LK_RECORD_REFUSED', 'BAD_PREV'),
  },
  {
    category: 'http',
    name: 'submit: a record that skips a seq',
    run: crafted(async (s) => craft(s, s.admin, { seq: (await status(s)).heads[s.admin.id]!.seq + 5 })),
    expect: bad(400, 'LK_RECORD_REFUSED', 'SEQ_GAP'),
  },
  {
    category: 'http',
    name: 'submit: a record from a day ahead',
    run: crafted((s) => craft(s, s.admin, { hlc: { ms: Date.now() + 86_400_000, c: 0 } })),
    expect: bad(400, 'LK_RECORD_REFUSED', 'CLOCK_FUTURE'),
  },
  {
    category: 'http',
    name: 'prepare: a body that is not hex',
    run: (s) => prepare({ type: 'membership.put', body: 'zz', author: s.admin.id })(s),
    expect: bad(400, 'LK_HTTP_BAD_REQUEST'),
  },
  {
    category: 'http',
    name: 'prepare: a type that is a number',
    run: (s) => prepare({ type: 42, body: 'a0', author: s.admin.id })(s),
    expect: bad(400, 'LK_HTTP_BAD_REQUEST'),
  },
  {
    category: 'http',
    name: 'prepare: an author of 31 bytes',
    run: prepare({ type: 'membership.put', body: 'a0', author: 'aa'.repeat(31) }),
    expect: bad(400, 'LK_HTTP_BAD_REQUEST'),
  },
  {
    category: 'http',
    name: 'prepare: no author',
    run: prepare({ type: 'membership.put', body: 'a0' }),
    expect: bad(400, 'LK_HTTP_BAD_REQUEST'),
  },
]

// ── MQTT: the embedded broker and the sync topics ────────────────────────────────────────

const refusedConnect =
  (make: (s: Shared) => Promise<Parameters<typeof connect>[1]> | Parameters<typeof connect>[1]) =>
  (s: Shared) =>
    refusalOf(s, async () => {
      const client = await connect(s, await make(s))
      await end(client)
    })

const published =
  (topic: (s: Shared) => string, payload: Uint8Array | ((s: Shared) => Uint8Array)) => (s: Shared) =>
    refusalOf(s, () => publishAsDevice(s, topic(s), typeof payload === 'function' ? payload(s) : payload))

const nodeKey = (s: Shared) => s.node.key!.id
const broker = (reason: string): Outcome => ({ code: `broker.${reason}` })
const counted = (counter: string): Outcome => ({ code: `sync.${counter}` })

const mqttCases: BadInput[] = [
  {
    category: 'mqtt',
    name: 'no credentials',
    run: refusedConnect(() => ({})),
    expect: broker('unauthenticated'),
  },
  {
    category: 'mqtt',
    name: 'an empty password',
    run: refusedConnect((s) => ({ username: s.device.id, password: '', clientId: s.device.id })),
    expect: broker('unauthenticated'),
  },
  {
    category: 'mqtt',
    name: 'a token that is not a token',
    run: refusedConnect((s) => ({ username: s.device.id, password: 'hunter2', clientId: s.device.id })),
    expect: broker('malformed'),
  },
  {
    category: 'mqtt',
    name: 'a username that is not a key',
    run: refusedConnect((s) => ({ username: 'admin', password: token(s, s.device), clientId: 'admin' })),
    expect: broker('malformed'),
  },
  {
    category: 'mqtt',
    name: 'a token for another site',
    run: refusedConnect((s) => ({
      ...creds(s, s.device),
      password: token(s, s.device, Date.now(), garbage(32, 9)),
    })),
    expect: broker('wrong-site'),
  },
  {
    category: 'mqtt',
    name: 'a token ten minutes old',
    run: refusedConnect((s) => ({
      ...creds(s, s.device),
      password: token(s, s.device, Date.now() - 10 * 60_000),
    })),
    expect: broker('stale'),
  },
  {
    category: 'mqtt',
    name: 'a token from ten minutes ahead',
    run: refusedConnect((s) => ({
      ...creds(s, s.device),
      password: token(s, s.device, Date.now() + 10 * 60_000),
    })),
    expect: broker('stale'),
  },
  {
    category: 'mqtt',
    name: "a token signed by another key for the device's name",
    run: refusedConnect((s) => {
      const other = randomKey()
      const t = token(s, other)
      return { ...creds(s, s.device), password: t }
    }),
    expect: broker('bad-signature'),
  },
  {
    category: 'mqtt',
    name: 'a key nobody enrolled',
    run: refusedConnect(() => {
      const k = randomKey()
      return { username: k.id, password: '', clientId: k.id }
    }),
    expect: broker('unauthenticated'),
  },
  {
    category: 'mqtt',
    name: 'a valid token of an unenrolled key',
    run: refusedConnect((s) => creds(s, randomKey())),
    expect: broker('not-enrolled'),
  },
  {
    category: 'mqtt',
    name: 'a replayed token',
    run: async (s) => {
      const c = creds(s, s.device)
      await end(await connect(s, c))
      return refusalOf(s, async () => end(await connect(s, c)))
    },
    expect: broker('replay'),
  },
  {
    category: 'mqtt',
    name: "another key's client id",
    run: refusedConnect((s) => creds(s, s.device, { clientId: nodeKey(s) })),
    expect: broker('client-id'),
  },
  {
    category: 'mqtt',
    name: "a publish under the node's own prefix",
    run: published((s) => `latchkey/${s.siteHex}/node/${nodeKey(s)}/summary`, new Uint8Array([1])),
    expect: broker('outside-prefix'),
  },
  {
    category: 'mqtt',
    name: 'a publish to $SYS',
    run: published(() => '$SYS/broker/hack', new Uint8Array([1])),
    expect: broker('outside-prefix'),
  },
  {
    category: 'mqtt',
    name: 'a summary that is garbage',
    run: published((s) => summaryTopic(s.siteHex, s.device.id), garbage(200)),
    expect: counted('badSummary'),
  },
  {
    category: 'mqtt',
    name: 'a summary with a float',
    run: published((s) => summaryTopic(s.siteHex, s.device.id), fromHex(`a16161${FLOAT}`)),
    expect: counted('badSummary'),
  },
  {
    category: 'mqtt',
    name: 'a live message that is garbage',
    run: published((s) => liveTopic(s.siteHex, s.device.id), garbage(300)),
    expect: counted('badPayload'),
  },
  {
    category: 'mqtt',
    name: 'a live message that is a CBOR map of the wrong shape',
    run: published((s) => liveTopic(s.siteHex, s.device.id), dagCbor.encode({ records: 'no' })),
    expect: counted('badPayload'),
  },
  {
    category: 'mqtt',
    name: 'a live message whose records are garbage',
    run: published((s) => liveTopic(s.siteHex, s.device.id), encodeBatch([garbage(120), garbage(90, 2)])),
    expect: counted('refusedRecords'),
  },
  {
    category: 'mqtt',
    name: 'a request that is garbage',
    run: published((s) => requestTopic(s.siteHex, s.device.id, nodeKey(s)), garbage(64)),
    expect: counted('badPayload'),
  },
  {
    category: 'mqtt',
    name: 'a request for seq 0',
    run: published(
      (s) => requestTopic(s.siteHex, s.device.id, nodeKey(s)),
      (s) => encodeRequest({ from: [[fromHex(s.admin.id), 0]], limit: 10 }),
    ),
    expect: counted('badPayload'),
  },
  {
    category: 'mqtt',
    name: 'a batch that is truncated',
    run: published(
      (s) => batchTopic(s.siteHex, s.device.id, nodeKey(s)),
      encodeBatch([garbage(200)]).subarray(0, 50),
    ),
    expect: counted('badPayload'),
  },
  {
    category: 'mqtt',
    name: 'a summary signed by another key',
    run: published(
      (s) => summaryTopic(s.siteHex, s.device.id),
      (s) =>
        encodeSummary(
          { node: s.device.publicKey, heads: [], count: 0, stateHash: '', at: Date.now() },
          randomKey(),
        ),
    ),
    expect: counted('badSummary'),
  },
  {
    category: 'mqtt',
    name: 'a summary that names another node',
    run: published(
      (s) => summaryTopic(s.siteHex, s.device.id),
      () => {
        const other = randomKey()
        return encodeSummary(
          { node: other.publicKey, heads: [], count: 0, stateHash: '', at: Date.now() },
          other,
        )
      },
    ),
    expect: counted('badSummary'),
  },
  {
    category: 'mqtt',
    name: 'a publish over 256 KiB',
    run: published((s) => liveTopic(s.siteHex, s.device.id), new Uint8Array(300 * 1024)),
    expect: broker('oversize'),
  },
]

// ── files: exports, credentials, key files ───────────────────────────────────────────────

const MAGIC = 'LATCHKEY-EXPORT\n'
/** A good export of the shared node's ledger, written with `latchkey ledger export`. */
async function goodExport(s: Shared): Promise<Uint8Array> {
  const out = join(s.scratch, `good-${Date.now()}.export`)
  const r = await cli(s, ['ledger', 'export', '-o', out])
  if (r.exit !== 0) throw new Error(`setup: export failed: ${r.stderr}`)
  return new Uint8Array(readFileSync(out))
}
type Content = Uint8Array | string
/** File content given as is, or made against the shared node. */
const made = async (s: Shared, c: Content | ((s: Shared) => Promise<Content> | Content)) =>
  typeof c === 'function' ? c(s) : c

const verifyExport =
  (name: string, make: Content | ((s: Shared) => Promise<Content> | Content)) => async (s: Shared) =>
    cli(s, ['ledger', 'verify', '-f', file(s, name, await made(s, make))])

const exportCases: BadInput[] = [
  {
    category: 'export',
    name: 'garbage',
    run: verifyExport('garbage.export', garbage(4096)),
    expect: failed('LK_LEDGER_INVALID'),
  },
  {
    category: 'export',
    name: 'an empty file',
    run: verifyExport('empty.export', ''),
    expect: failed('LK_LEDGER_INVALID'),
  },
  {
    category: 'export',
    name: 'a bad magic',
    run: verifyExport('magic.export', async (s) => {
      const b = await goodExport(s)
      b[0] = 0x6c
      return b
    }),
    expect: failed('LK_LEDGER_INVALID'),
  },
  {
    category: 'export',
    name: 'only the magic',
    run: verifyExport('magic-only.export', MAGIC),
    expect: failed('LK_LEDGER_INVALID'),
  },
  {
    category: 'export',
    name: 'truncated in a record',
    run: verifyExport('truncated.export', async (s) => (await goodExport(s)).subarray(0, 300)),
    expect: failed('LK_LEDGER_INVALID'),
  },
  {
    category: 'export',
    name: 'a record byte flipped',
    run: verifyExport('flipped.export', async (s) => {
      const b = await goodExport(s)
      b[200] = b[200]! ^ 0xff
      return b
    }),
    expect: failed('LK_LEDGER_INVALID'),
  },
  {
    category: 'export',
    name: 'a frame that claims 4 GiB',
    run: verifyExport(
      'huge-frame.export',
      Buffer.concat([Buffer.from(MAGIC), Buffer.from('ffffffff', 'hex')]),
    ),
    expect: failed('LK_LEDGER_INVALID'),
  },
  {
    category: 'export',
    name: 'a file that does not exist',
    run: (s) => cli(s, ['ledger', 'verify', '-f', join(s.scratch, 'none.export')]),
    expect: usage('LK_CLI_USAGE'),
  },
]

/** A credential of alice, signed by the node key, written with `latchkey cert export`. */
async function goodCredential(s: Shared): Promise<Uint8Array> {
  const out = join(s.scratch, `alice-${Date.now()}.cred`)
  const r = await cli(s, ['cert', 'export', 'alice', '-o', out])
  if (r.exit !== 0) throw new Error(`setup: cert export failed: ${r.stderr}`)
  return new Uint8Array(readFileSync(out))
}
const verifyCred =
  (name: string, make: Content | ((s: Shared) => Promise<Content> | Content), extra: string[] = []) =>
  async (s: Shared) =>
    cli(s, ['cert', 'verify', file(s, name, await made(s, make)), ...extra])
const invalid = (detail: string): Outcome => ({ code: 'LK_CERT_CREDENTIAL_INVALID', exit: 1, detail })

const credentialCases: BadInput[] = [
  {
    category: 'credential',
    name: 'garbage',
    run: verifyCred('garbage.cred', garbage(700)),
    expect: invalid('CRED_MALFORMED'),
  },
  {
    category: 'credential',
    name: 'an empty file',
    run: verifyCred('empty.cred', ''),
    expect: invalid('CRED_MALFORMED'),
  },
  {
    category: 'credential',
    name: 'truncated',
    run: verifyCred('truncated.cred', async (s) => (await goodCredential(s)).subarray(0, 100)),
    expect: invalid('CRED_MALFORMED'),
  },
  {
    category: 'credential',
    name: 'a CBOR map of another format',
    run: verifyCred(
      'other.cred',
      dagCbor.encode({ format: 'latchkey-credential/9', payload: new Uint8Array(1) }),
    ),
    expect: invalid('CRED_MALFORMED'),
  },
  {
    category: 'credential',
    name: 'tampered: a payload byte changed',
    run: verifyCred('tampered.cred', async (s) => {
      const doc = dagCbor.decode(await goodCredential(s)) as { payload: Uint8Array }
      const payload = dagCbor.decode(doc.payload) as Record<string, unknown>
      return dagCbor.encode({ ...doc, payload: dagCbor.encode({ ...payload, member: 'mallory' }) })
    }),
    expect: invalid('CRED_BAD_SIGNATURE'),
  },
  {
    category: 'credential',
    name: 'a credential of another site',
    run: verifyCred('other-site.cred', goodCredential, ['--site', 'ab'.repeat(32)]),
    expect: invalid('CRED_WRONG_SITE'),
  },
]

const keyFile =
  (name: string, content: string, mode = 0o600) =>
  (s: Shared) =>
    cli(s, ['member', 'add', 'bob', '--name', 'Bob', '--admin-key', file(s, name, content, mode)])
const seed = (hex: string) => `{"type":"ed25519","seed":"${hex}"}\n`

const keyCases: BadInput[] = [
  {
    category: 'key',
    name: 'an empty key file',
    run: keyFile('empty.key', ''),
    expect: failed('LK_KEY_INVALID'),
  },
  {
    category: 'key',
    name: 'a key file of garbage',
    run: keyFile('garbage.key', 'not a key at all\n'),
    expect: failed('LK_KEY_INVALID'),
  },
  {
    category: 'key',
    name: 'a seed of 31 bytes',
    run: keyFile('short.key', seed('ab'.repeat(31))),
    expect: failed('LK_KEY_INVALID'),
  },
  {
    category: 'key',
    name: 'a seed of 33 bytes',
    run: keyFile('long.key', seed('ab'.repeat(33))),
    expect: failed('LK_KEY_INVALID'),
  },
  {
    category: 'key',
    name: 'a seed in capitals',
    run: keyFile('caps.key', seed('AB'.repeat(32))),
    expect: failed('LK_KEY_INVALID'),
  },
  {
    category: 'key',
    name: 'a key of another type',
    run: keyFile('rsa.key', `{"type":"rsa","seed":"${'ab'.repeat(32)}"}`),
    expect: failed('LK_KEY_INVALID'),
  },
  {
    category: 'key',
    name: 'a world-readable key',
    run: keyFile('open.key', seed('ab'.repeat(32)), 0o644),
    expect: failed('LK_KEY_PERMISSIONS'),
  },
  {
    category: 'key',
    name: 'a group-readable key',
    run: keyFile('group.key', seed('ab'.repeat(32)), 0o640),
    expect: failed('LK_KEY_PERMISSIONS'),
  },
  {
    category: 'key',
    name: 'a key file that does not exist',
    run: (s) => cli(s, ['member', 'add', 'bob', '--name', 'Bob', '--admin-key', join(s.scratch, 'none.key')]),
    expect: failed('LK_KEY_INVALID'),
  },
  {
    category: 'key',
    name: 'an export signed with a key file of garbage',
    run: (s) =>
      cli(s, [
        'ledger',
        'export',
        '-o',
        join(s.scratch, 'never.export'),
        '--key',
        file(s, 'export.key', '\u0000\u0001'),
      ]),
    expect: failed('LK_KEY_INVALID'),
  },
]

const withNodeKey =
  (content: string, mode = 0o600) =>
  (dataDir: string) => {
    mkdirSync(join(dataDir, 'keys'), { mode: 0o700 })
    writeFileSync(join(dataDir, 'keys', 'node.key'), content, { mode })
    chmodSync(join(dataDir, 'keys', 'node.key'), mode)
  }

const nodeStartCases: BadInput[] = [
  {
    category: 'key',
    name: 'a node key of garbage: the node does not start',
    run: (s) => startNode(s, 'garbage-node-key', withNodeKey('\u0000garbage')),
    expect: failed('LK_KEY_INVALID'),
  },
  {
    category: 'key',
    name: 'a world-readable node key: the node does not start',
    run: (s) => startNode(s, 'open-node-key', withNodeKey(seed('cd'.repeat(32)), 0o644)),
    expect: failed('LK_KEY_PERMISSIONS'),
  },
  {
    category: 'key',
    name: 'a node key with a 16-byte seed: the node does not start',
    run: (s) => startNode(s, 'short-node-key', withNodeKey(seed('cd'.repeat(16)))),
    expect: failed('LK_KEY_INVALID'),
  },
  {
    category: 'config',
    name: 'an HTTP port another node holds: the node does not start',
    run: (s) => startNode(s, 'port-taken', () => {}, { LATCHKEY_HTTP_PORT: String(new URL(s.base).port) }),
    expect: failed('LK_LISTEN_FAILED'),
  },
  {
    category: 'config',
    name: 'a data directory that is a file: the node does not start',
    run: (s) =>
      startNode(s, 'parent-of-file', (dir) => writeFileSync(join(dir, 'data'), 'a file'), {
        LATCHKEY_DATA_DIR: join(s.scratch, 'parent-of-file', 'data'),
      }),
    expect: failed('LK_DATA_DIR'),
  },
]

// ── ledger files ─────────────────────────────────────────────────────────────────────────

const onLedger =
  (name: string, content: (s: Shared) => string | Uint8Array, ...argv: string[]) =>
  (s: Shared) =>
    cli(s, argv, { LATCHKEY_DATA_DIR: dataDirWith(s, name, content(s)), LATCHKEY_HTTP_PORT: '1' })

const ledgerCases: BadInput[] = [
  {
    category: 'ledger',
    name: 'an empty (0-byte) ledger file: member list',
    run: onLedger('empty-ledger', () => '', 'member', 'list'),
    expect: usage('LK_NO_SITE'),
  },
]

/** Today's cases: what this branch answers to each bad input. */
const today: readonly BadInput[] = [
  ...cliCases,
  ...configCases,
  ...csvCases,
  ...httpCases,
  ...mqttCases,
  ...exportCases,
  ...credentialCases,
  ...keyCases,
  ...nodeStartCases,
  ...ledgerCases,
]

// ── after merge ──────────────────────────────────────────────────────────────────────────

/** Shorthands for the refusals of the seqrules branch (runtime/core/ledger/refusals.ts there). */
const invalidRecord = (reason: string) => bad(400, 'LK_RECORD_INVALID', reason)
const staleRecord = (reason: string) => bad(409, 'LK_RECORD_STALE', reason)

/** A data directory whose ledger is `content`, for every command that reads the ledger. */
const corruptLedger = (what: string, content: (s: Shared) => string | Uint8Array, code: string): BadInput[] =>
  (
    [
      ['ledger', 'verify'],
      ['member', 'list'],
      ['site', 'show'],
    ] as const
  ).map((argv, i) => ({
    category: 'ledger',
    name: `${what}: ${argv.join(' ')}`,
    run: onLedger(`${what.replaceAll(/\W+/g, '-')}-${i}`, content, ...argv),
    expect: failed(code),
    pending: 'storage',
  }))

/**
 * Cases whose codes come with another branch: not run on this branch (their inputs get other
 * answers here, some a stack trace or a 500). The codes are those the branches define (read
 * from their commits while they were written). A case here replaces the running case of the
 * same category and name once its branches are in `MERGED`; a running case with `retiredBy`
 * leaves the table once that branch is.
 */
export const afterMerge: readonly BadInput[] = [
  // storage: a damaged ledger file is named as damaged, never "no site yet" or a SQLite stack.
  ...corruptLedger('a garbage ledger file', () => garbage(8192), 'LK_LEDGER_CORRUPT'),
  ...corruptLedger('a truncated ledger file', (s) => ledgerBytes(s).subarray(0, 3000), 'LK_LEDGER_CORRUPT'),
  ...corruptLedger(
    'a ledger file with a damaged header',
    (s) => Buffer.concat([Buffer.from('SQLite format 2\0'), ledgerBytes(s).subarray(16)]),
    'LK_LEDGER_CORRUPT',
  ),
  ...corruptLedger('an empty (0-byte) ledger file', () => '', 'LK_LEDGER_EMPTY').filter(
    (c) => !c.name.endsWith('member list'),
  ),
  {
    category: 'ledger',
    name: 'an empty (0-byte) ledger file: member list',
    run: onLedger('empty-ledger', () => '', 'member', 'list'),
    expect: failed('LK_LEDGER_EMPTY'),
    pending: 'storage',
  },
  {
    category: 'ledger',
    name: 'a garbage ledger file: the node does not start',
    run: (s) =>
      startNode(s, 'garbage-ledger-node', (dir) => writeFileSync(join(dir, 'ledger.db'), garbage(8192))),
    expect: failed('LK_LEDGER_CORRUPT'),
    pending: 'storage',
  },
  {
    category: 'export',
    name: 'a garbage trailer',
    run: verifyExport('trailer.export', async (s) => {
      const b = await goodExport(s)
      // Frames are (u32 length, bytes); the last is the trailer: keep its length, garble its bytes.
      let at = MAGIC.length
      let last = at
      while (at + 4 <= b.length) {
        last = at
        at += 4 + new DataView(b.buffer, b.byteOffset + at).getUint32(0)
      }
      b.set(garbage(b.length - last - 4), last + 4)
      return b
    }),
    expect: failed('LK_LEDGER_INVALID'),
    pending: 'storage',
  },
  {
    category: 'config',
    name: 'two unnamed readers of one type that a door names by the type',
    run: config(
      'unnamed-readers.yaml',
      [
        'hardware:',
        '  outputs:',
        '    - { name: front-lock, kind: lock, line: { name: GPIO17 } }',
        '  readers:',
        '    - { type: wedge, path: /dev/input/event0 }',
        '    - { type: wedge, path: /dev/input/event1 }',
        'doors:',
        '  - { name: front, reader: wedge, lock: front-lock }',
        '',
      ].join('\n'),
    ),
    expect: usage('LK_CONFIG_INVALID'),
    pending: 'storage',
  },
  {
    category: 'config',
    name: 'two readers of one name',
    run: config(
      'same-reader-name.yaml',
      [
        'hardware:',
        '  readers:',
        '    - { type: wedge, name: front, path: /dev/input/event0 }',
        '    - { type: wedge, name: front, path: /dev/input/event1 }',
        '',
      ].join('\n'),
    ),
    expect: usage('LK_CONFIG_INVALID'),
    pending: 'storage',
  },

  // auth: only signed requests of enrolled keys reach a route (or learn that it does not exist);
  // fastify's own refusals while reading a body carry catalogued codes.
  ...(
    [
      ['an unknown route, unsigned', '/api/v1/nope', {}],
      ['DELETE on status, unsigned', '/api/v1/status', { method: 'DELETE' }],
      ['submit, unsigned', '/api/v1/ledger/submit', { json: { wire: '00' } }],
      ['prepare, unsigned', '/api/v1/ledger/prepare', { json: { type: 'membership.put', body: 'a0' } }],
      ['a dapp query, unsigned', '/api/v1/dapps/membership/members', {}],
    ] as const
  ).map(
    ([name, path, req]): BadInput => ({
      category: 'http',
      name,
      run: (s) => http(s, path, req),
      expect: bad(401, 'LK_HTTP_UNAUTHENTICATED'),
      pending: 'auth',
    }),
  ),
  {
    category: 'http',
    name: 'signature headers of garbage',
    run: (s) =>
      http(s, '/api/v1/ledger/submit', {
        json: { wire: '00' },
        headers: { signature: 'sig=:AAAA:', 'signature-input': 'garbage' },
      }),
    expect: bad(401, 'LK_HTTP_SIGNATURE_MALFORMED'),
    pending: 'auth',
  },
  {
    category: 'http',
    name: 'signed by a key nobody enrolled',
    run: (s) => http(s, '/api/v1/dapps/membership/members', { signed: () => randomKey() }),
    expect: bad(403, 'LK_HTTP_KEY_NOT_ENROLLED'),
    pending: 'auth',
  },
  {
    category: 'http',
    name: 'signed for another site',
    run: (s) => http(s, '/api/v1/dapps/membership/members', { signed: true, site: 'ab'.repeat(32) }),
    expect: bad(401, 'LK_HTTP_WRONG_SITE'),
    pending: 'auth',
  },
  {
    category: 'http',
    name: 'signed ten minutes ago',
    run: (s) =>
      http(s, '/api/v1/dapps/membership/members', { signed: true, signedAt: Date.now() - 10 * 60_000 }),
    expect: bad(401, 'LK_HTTP_CLOCK_SKEW'),
    pending: 'auth',
  },
  {
    category: 'http',
    name: 'a body changed after signing',
    run: (s) =>
      http(s, '/api/v1/ledger/submit', { json: { wire: '00' }, signed: true, sendBody: '{"wire":"01"}' }),
    expect: bad(401, 'LK_HTTP_DIGEST_MISMATCH'),
    pending: 'auth',
  },
  {
    category: 'http',
    name: 'a signed request sent twice',
    run: (s) => replayed(s, '/api/v1/dapps/membership/members', { signed: true }),
    expect: bad(401, 'LK_HTTP_REPLAYED'),
    pending: 'auth',
  },
  {
    category: 'http',
    name: 'submit: a body that is not JSON',
    run: (s) =>
      http(s, '/api/v1/ledger/submit', { raw: 'not json', contentType: 'application/json', signed: true }),
    expect: bad(400, 'LK_HTTP_BAD_REQUEST'),
    pending: 'auth',
  },
  {
    category: 'http',
    name: 'submit: an empty JSON body',
    run: (s) => http(s, '/api/v1/ledger/submit', { raw: '', contentType: 'application/json', signed: true }),
    expect: bad(400, 'LK_HTTP_BAD_REQUEST'),
    pending: 'auth',
  },
  {
    category: 'http',
    name: 'submit: an XML body',
    run: (s) =>
      http(s, '/api/v1/ledger/submit', { raw: '<wire/>', contentType: 'application/xml', signed: true }),
    expect: bad(415, 'LK_HTTP_MEDIA_TYPE'),
    pending: 'auth',
  },
  {
    category: 'http',
    name: 'submit: a text/plain body',
    run: (s) =>
      http(s, '/api/v1/ledger/submit', { raw: '{"wire":"00"}', contentType: 'text/plain', signed: true }),
    expect: bad(415, 'LK_HTTP_MEDIA_TYPE'),
    pending: 'auth',
  },
  {
    category: 'http',
    name: 'submit: a body over 1 MiB',
    run: submit({ wire: 'ab'.repeat(600_000) }),
    expect: bad(413, 'LK_HTTP_BODY_TOO_LARGE'),
    pending: 'auth',
  },

  // seqrules (on auth: a client writes as the key that signs its request): a refused record is
  // a 4xx that keeps nothing, its class in the code and the protocol reason in `reason`.
  ...(
    [
      ['submit: a truncated wire', invalidRecord('MALFORMED')],
      ['submit: garbage wire', invalidRecord('MALFORMED')],
      ['submit: a record signed by another key', invalidRecord('BAD_SIGNATURE')],
      ['submit: a record for another site', invalidRecord('WRONG_SITE')],
      ['submit: a record body that is not CBOR', invalidRecord('MALFORMED')],
      ['submit: a float in a record body', invalidRecord('MALFORMED')],
      ['submit: a type string of capitals and spaces', invalidRecord('BAD_FIELD')],
      ['submit: a record by a key nobody enrolled', bad(403, 'LK_RECORD_WRONG_AUTHOR', 'WRONG_AUTHOR')],
      ['submit: a record whose prev is wrong', staleRecord('BAD_PREV')],
      ['submit: a record that skips a seq', staleRecord('SEQ_GAP')],
      ['submit: a record from a day ahead', bad(422, 'LK_RECORD_REFUSED', 'CLOCK_FUTURE')],
      ['prepare: an author of 31 bytes', bad(403, 'LK_RECORD_WRONG_AUTHOR', 'WRONG_AUTHOR')],
      ['prepare: no author', bad(422, 'LK_RECORD_REFUSED')],
    ] as const
  ).map(([name, expect]): BadInput => {
    const today = httpCases.find((c) => c.name === name)
    if (!today) throw new Error(`afterMerge: no running case "${name}" to replace`)
    return { ...today, expect, pending: ['auth', 'seqrules'] }
  }),
  {
    category: 'http',
    name: 'prepare: a body that is not CBOR',
    run: prepare({ type: 'membership.put', body: 'ff' }),
    expect: invalidRecord('MALFORMED'),
    pending: ['auth', 'seqrules'],
  },
  {
    category: 'http',
    name: 'prepare: a float in the body',
    run: prepare({ type: 'membership.put', body: `a16161${FLOAT}` }),
    expect: invalidRecord('MALFORMED'),
    pending: ['auth', 'seqrules'],
  },
  {
    category: 'http',
    name: 'prepare: a type string of capitals and spaces',
    run: prepare({ type: 'Member Put', body: 'a0' }),
    expect: invalidRecord('BAD_FIELD'),
    pending: ['auth', 'seqrules'],
  },
  {
    category: 'http',
    name: 'prepare: the node’s own key as author',
    run: (s) =>
      http(s, '/api/v1/ledger/prepare', {
        json: { type: 'membership.put', body: 'a0' },
        signed: (x) => x.node.key!,
      }),
    expect: bad(403, 'LK_RECORD_NODE_KEY', 'NODE_KEY'),
    pending: ['auth', 'seqrules'],
  },
]

/**
 * The branches merged into this one. After merging one, add it here: its `afterMerge` cases
 * then run (wire `signRequest` in ./harness.ts with `auth`).
 */
export const MERGED: readonly Branch[] = ['auth', 'seqrules', 'storage']

const needs = (c: BadInput): readonly Branch[] =>
  c.pending === undefined ? [] : typeof c.pending === 'string' ? [c.pending] : c.pending

/** The cases to run with `merged` in: today's, with the enabled afterMerge cases in place. */
export function casesWith(merged: readonly Branch[]): BadInput[] {
  const enabled = afterMerge.filter((c) => needs(c).every((b) => merged.includes(b)))
  const key = (c: BadInput) => `${c.category}: ${c.name}`
  const replaced = new Set(enabled.map(key))
  return [
    ...today.filter((c) => !replaced.has(key(c)) && !(c.retiredBy && merged.includes(c.retiredBy))),
    ...enabled.map(({ pending: _pending, ...c }) => c),
  ]
}

/** Cases that pass on this branch (and, with MERGED filled in, after the merges). */
export const running: readonly BadInput[] = casesWith(MERGED)
