/** Lets pending promise callbacks and setImmediate work run (tests on a FakeClock). */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r))
}
