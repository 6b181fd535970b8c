import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['{runtime,devices,dapps,provisioning,test}/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Process-level tests bind ports and spawn nodes; two cores, so keep parallelism modest.
    maxWorkers: 2,
  },
})
