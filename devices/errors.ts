export { deviceErrors } from '../runtime/core/errors/index.ts'
