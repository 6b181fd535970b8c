/**
 * Ed25519 key files. A key file holds the 32-byte seed as hex in a small JSON document and
 * must be mode 0600: a key readable by others is refused, not silently used.
 */
import { createPrivateKey, createPublicKey, type KeyObject, randomBytes } from 'node:crypto'
import {
  chmodSync,
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeSync,
} from 'node:fs'
import { dirname } from 'node:path'
import { errors } from './errors.ts'

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

export interface KeyPair {
  /** 32-byte raw public key. */
  readonly publicKey: Uint8Array
  /** Lower-case hex of the public key: how keys are named in config, topics and the CLI. */
  readonly id: string
  readonly privateKeyObject: KeyObject
}

export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== 32) throw new Error(`Ed25519 seed must be 32 bytes, got ${seed.length}`)
  const privateKeyObject = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  })
  const der = createPublicKey(privateKeyObject).export({ format: 'der', type: 'spki' })
  const publicKey = new Uint8Array(der.subarray(SPKI_ED25519_PREFIX.length))
  return { publicKey, id: Buffer.from(publicKey).toString('hex'), privateKeyObject }
}

export function publicKeyObject(publicKey: Uint8Array): KeyObject {
  return createPublicKey({
    key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]),
    format: 'der',
    type: 'spki',
  })
}

export function generateSeed(): Uint8Array {
  return new Uint8Array(randomBytes(32))
}

const RESTORE =
  '; restore the file from a backup of the key (a lost node key is replaced by enrolling a new one)'

/** Reads a key file, refusing one that others can read, is empty, or does not hold a 32-byte seed. */
export function readKeyFile(file: string): KeyPair {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw errors.KEY_INVALID(
      file,
      code === 'ENOENT' ? 'the file does not exist' : `cannot be opened (${code})`,
    )
  }
  try {
    const mode = fstatSync(fd).mode & 0o777
    if ((mode & 0o077) !== 0) throw errors.KEY_PERMISSIONS(file, mode)
    let text: string
    try {
      text = readFileSync(fd, 'utf8')
    } catch (err) {
      throw errors.KEY_INVALID(file, `cannot be read (${(err as NodeJS.ErrnoException).code})`)
    }
    if (text.trim() === '') throw errors.KEY_INVALID(file, `the file is empty${RESTORE}`)
    let doc: unknown
    try {
      doc = JSON.parse(text)
    } catch {
      throw errors.KEY_INVALID(file, `not JSON (truncated or overwritten?)${RESTORE}`)
    }
    const { type, seed } = (typeof doc === 'object' && doc !== null ? doc : {}) as {
      type?: unknown
      seed?: unknown
    }
    if (type !== 'ed25519' || typeof seed !== 'string' || !/^[0-9a-f]{64}$/.test(seed)) {
      throw errors.KEY_INVALID(file, `expected {"type":"ed25519","seed":"<64 hex digits>"}${RESTORE}`)
    }
    return keyPairFromSeed(Buffer.from(seed, 'hex'))
  } finally {
    closeSync(fd)
  }
}

/** Writes a new key file with mode 0600 (created exclusively: an existing key is never overwritten). */
export function writeKeyFile(file: string, seed: Uint8Array): KeyPair {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  const pair = keyPairFromSeed(seed)
  const fd = openSync(file, 'wx', 0o600)
  try {
    writeSync(
      fd,
      `${JSON.stringify({ type: 'ed25519', seed: Buffer.from(seed).toString('hex'), publicKey: pair.id })}\n`,
    )
  } finally {
    closeSync(fd)
  }
  chmodSync(file, 0o600) // umask cannot widen it, but make the mode explicit
  return pair
}

/** Loads the key at `file`, creating it on first use. */
export function loadOrCreateKeyFile(file: string): { pair: KeyPair; created: boolean } {
  if (existsSync(file)) return { pair: readKeyFile(file), created: false }
  return { pair: writeKeyFile(file, generateSeed()), created: true }
}
