export { readerErrors } from '../../runtime/core/errors/index.ts'
