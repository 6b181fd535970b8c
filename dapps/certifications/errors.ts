/** Error catalogue of the certifications dapp and the `latchkey cert` command (codes LK_CERT_*). */
import { define } from '../../runtime/core/errors.ts'

export const certErrors = {
  CONFIG: define(
    'LK_CERT_CONFIG',
    'usage',
    (key: string, reason: string) => `certifications options: \`${key}\` ${reason}`,
    (key: string) => ({ dapp: 'certifications', key }),
  ),
  QUERY: define(
    'LK_CERT_QUERY',
    'usage',
    (query: string, reason: string) => `certifications query ${query}: ${reason}`,
    (query: string) => ({ query }),
  ),
  UNKNOWN_MEMBER: define(
    'LK_CERT_UNKNOWN_MEMBER',
    'usage',
    (member: string) => `member ${member} is not known to this node's ledger`,
    (member: string) => ({ member }),
  ),
  SIGNER_NOT_ENROLLED: define(
    'LK_CERT_SIGNER_NOT_ENROLLED',
    'usage',
    (key: string) =>
      `key ${key.slice(0, 16)}… is not an enrolled key of this site (or was revoked); it cannot sign a credential`,
    (key: string) => ({ key }),
  ),
  REJECTED: define(
    'LK_CERT_REJECTED',
    'operational',
    (type: string, code: string, detail: string) => `the ledger did not apply ${type}: ${code}: ${detail}`,
    (type: string, code: string) => ({ type, code }),
  ),
  CREDENTIAL_INVALID: define(
    'LK_CERT_CREDENTIAL_INVALID',
    'operational',
    (file: string, code: string, detail: string) => `credential ${file} is not valid: ${code}: ${detail}`,
    (file: string, code: string) => ({ file, code }),
  ),
}
