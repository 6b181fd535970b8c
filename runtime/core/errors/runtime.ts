/**
 * The runtime's codes: the command line, config files, keys and files on disk, lifecycle, the
 * ledger file and the node's answers, releases.
 */
import { define } from './define.ts'

export const errors = {
  // Command line
  CLI_USAGE: define('LK_CLI_USAGE', 'usage', (msg: string) => msg),

  // Config (a sentence that names the file and, where there is one, the key)
  CONFIG_NOT_FOUND: define(
    'LK_CONFIG_NOT_FOUND',
    'usage',
    (file: string) => `config file ${file} does not exist`,
    (file: string) => ({ file }),
  ),
  CONFIG_UNREADABLE: define(
    'LK_CONFIG_UNREADABLE',
    'usage',
    (file: string, reason: string) => `config file ${file} cannot be read: ${reason}`,
    (file: string) => ({ file }),
  ),
  CONFIG_YAML: define(
    'LK_CONFIG_YAML',
    'usage',
    (file: string, line: number, col: number, reason: string) =>
      `config file ${file} is not valid YAML at line ${line}, column ${col}: ${reason}`,
    (file: string, line: number, col: number) => ({ file, line, col }),
  ),
  CONFIG_UNKNOWN_KEY: define(
    'LK_CONFIG_UNKNOWN_KEY',
    'usage',
    (file: string, key: string, suggestion?: string) =>
      `config file ${file}: unknown key \`${key}\`` +
      (suggestion ? ` (did you mean \`${suggestion}\`?)` : ''),
    (file: string, key: string, suggestion?: string) => ({ file, key, suggestion }),
  ),
  CONFIG_INVALID: define(
    'LK_CONFIG_INVALID',
    'usage',
    (file: string, key: string, reason: string) => `config file ${file}: \`${key}\` ${reason}`,
    (file: string, key: string) => ({ file, key }),
  ),
  CONFIG_ENV: define(
    'LK_CONFIG_ENV',
    'usage',
    (variable: string, reason: string) => `environment variable ${variable} ${reason}`,
    (variable: string) => ({ variable }),
  ),

  // Keys and files on disk
  KEY_PERMISSIONS: define(
    'LK_KEY_PERMISSIONS',
    'operational',
    (file: string, mode: number) =>
      `key file ${file} has permissions ${mode.toString(8).padStart(4, '0')}; it must be 0600 (chmod 600 ${file})`,
    (file: string, mode: number) => ({ file, mode }),
  ),
  KEY_INVALID: define(
    'LK_KEY_INVALID',
    'operational',
    (file: string, reason: string) => `key file ${file} is not a usable Ed25519 key: ${reason}`,
    (file: string) => ({ file }),
  ),
  DATA_DIR: define(
    'LK_DATA_DIR',
    'operational',
    (dir: string, reason: string) => `data directory ${dir} is not usable: ${reason}`,
    (dir: string) => ({ dir }),
  ),

  // Lifecycle
  COMPONENT_FAILED: define(
    'LK_COMPONENT_FAILED',
    'operational',
    (name: string, reason: string) => `component ${name} failed to start: ${reason}`,
    (name: string) => ({ component: name }),
  ),
  LISTEN_FAILED: define(
    'LK_LISTEN_FAILED',
    'operational',
    (what: string, address: string, reason: string) => `${what} cannot listen on ${address}: ${reason}`,
    (what: string, address: string) => ({ what, address }),
  ),
  NODE_UNREACHABLE: define(
    'LK_NODE_UNREACHABLE',
    'operational',
    (url: string, reason: string) => `no latchkey node answers at ${url}: ${reason}`,
    (url: string) => ({ url }),
  ),
  SITE_EXISTS: define(
    'LK_SITE_EXISTS',
    'usage',
    (site: string) =>
      `this node already belongs to site ${site}; a node joins one site for life (use a new data directory)`,
    (site: string) => ({ site }),
    409,
  ),
  NO_SITE: define(
    'LK_NO_SITE',
    'usage',
    (dataDir: string) =>
      `the ledger in ${dataDir} has no site yet; create one with \`latchkey site init --name <name>\``,
    (dataDir: string) => ({ dataDir }),
  ),
  LEDGER_INVALID: define(
    'LK_LEDGER_INVALID',
    'operational',
    (what: string, problem: string) => `${what} failed verification: ${problem}`,
    (what: string) => ({ what }),
  ),
  LEDGER_WRONG_SITE: define(
    'LK_LEDGER_WRONG_SITE',
    'operational',
    (what: string, site: string, pinned: string) =>
      `${what} belongs to site ${site}, not to site ${pinned} given with --site`,
    (what: string, site: string, pinned: string) => ({ what, site, pinned }),
  ),
  LEDGER_CORRUPT: define(
    'LK_LEDGER_CORRUPT',
    'operational',
    (file: string, reason: string) =>
      `ledger file ${file} is damaged (${reason}) and was not opened; restore it from a backup, or move it aside (mv ${file} ${file}.damaged) to start an empty ledger that a site node fills again by syncing from its peers`,
    (file: string) => ({ file }),
  ),
  LEDGER_EMPTY: define(
    'LK_LEDGER_EMPTY',
    'operational',
    (file: string) =>
      `ledger file ${file} is empty (0 bytes) and was not opened as a new site; restore it from a backup, or delete it (rm ${file}) to start an empty ledger on purpose`,
    (file: string) => ({ file }),
  ),
  LEDGER_SCHEMA: define(
    'LK_LEDGER_SCHEMA',
    'operational',
    (file: string, version: number, known: number) =>
      `ledger file ${file} has schema version ${version}, newer than this latchkey knows (${known}); upgrade latchkey to open it`,
    (file: string, version: number) => ({ file, version }),
  ),
  NODE_REFUSED: define(
    'LK_NODE_REFUSED',
    'operational',
    (url: string, reason: string) => `the node at ${url} refused the record: ${reason}`,
    (url: string) => ({ url }),
  ),
  CLOSED: define('LK_CLOSED', 'operational', (name: string) => `${name} is closed`),

  // Releases (latchkey verify-release)
  RELEASE_UNREADABLE: define(
    'LK_RELEASE_UNREADABLE',
    'usage',
    (file: string, reason: string) => `cannot read ${file}: ${reason}`,
    (file: string) => ({ file }),
  ),
  RELEASE_KEY_INVALID: define(
    'LK_RELEASE_KEY_INVALID',
    'usage',
    (given: string) =>
      `release public key ${given} is neither 64 hex digits nor a file holding them (dist/release.pub)`,
    (given: string) => ({ given }),
  ),
} as const
