/** Error catalogue of the governance dapp (codes LK_GOV_*). */
import { define } from '../../runtime/core/errors.ts'

export const govErrors = {
  QUERY: define(
    'LK_GOV_QUERY',
    'usage',
    (query: string, reason: string) => `governance query ${query}: ${reason}`,
    (query: string) => ({ query }),
  ),
}
