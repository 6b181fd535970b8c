import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { hasTool, runCli, tmpDir } from './helpers/index.ts'

const commands = ['run', 'site', 'member', 'badge', 'cert', 'ledger', 'status', 'doctor']

/** Operator-facing errors are one sentence: no stack frames, no multi-line dumps. */
function expectOneSentence(stderr: string) {
  const lines = stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn'))
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(/^latchkey: /)
  expect(stderr).not.toMatch(/\n\s+at /)
}

describe('latchkey CLI', () => {
  it('--help lists every command and exits 0', async () => {
    const r = await runCli(['--help'])
    expect(r.code).toBe(0)
    for (const name of commands) expect(r.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'))
  })

  it.each(commands)('%s --help exits 0 with a usage line', async (name) => {
    const r = await runCli([name, '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`Usage: latchkey ${name}`)
  })

  it('--version prints version, commit, Node version and architecture', async () => {
    const r = await runCli(['--version'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(
      /^latchkey \d+\.\d+\.\d+ \(commit \S+, node v24\.\d+\.\d+, linux-(x64|arm64)\)$/m,
    )
  })

  it('an unknown command is one sentence with a suggestion and exit 2', async () => {
    const r = await runCli(['sattus'])
    expect(r.code).toBe(2)
    expectOneSentence(r.stderr)
    expect(r.stderr).toContain("unknown command 'sattus' (did you mean status?)")
  })

  it('an unknown option is one sentence and exit 2', async () => {
    const r = await runCli(['status', '--jsno'])
    expect(r.code).toBe(2)
    expectOneSentence(r.stderr)
    expect(r.stderr).toContain("unknown option '--jsno'")
  })

  it('a missing option argument is one sentence and exit 2', async () => {
    const r = await runCli(['run', '--config'])
    expect(r.code).toBe(2)
    expectOneSentence(r.stderr)
  })

  it('run --config missing.yaml names the file and exits 2', async () => {
    const dir = tmpDir()
    const r = await runCli(['run', '--config', 'missing.yaml'], { cwd: dir })
    expect(r.code).toBe(2)
    expectOneSentence(r.stderr)
    expect(r.stderr).toContain('config file missing.yaml does not exist')
  })

  it('a misspelled config key is named with its path, line and a did-you-mean, exit 2', async () => {
    const dir = tmpDir()
    const file = join(dir, 'node.yaml')
    writeFileSync(file, 'node:\n  name: door-1\nhttp:\n  prot: 8080\n')
    const r = await runCli(['run', '--config', file])
    expect(r.code).toBe(2)
    expectOneSentence(r.stderr)
    expect(r.stderr).toContain(
      `config file ${file} line 4: unknown key \`http.prot\` (did you mean \`port\`?)`,
    )
  })

  it('bad YAML names the file, line and column, exit 2', async () => {
    const dir = tmpDir()
    const file = join(dir, 'node.yaml')
    writeFileSync(file, 'node:\n  name: [unclosed\n')
    const r = await runCli(['run', '--config', file])
    expect(r.code).toBe(2)
    expectOneSentence(r.stderr)
    expect(r.stderr).toMatch(new RegExp(`config file ${file} is not valid YAML at line \\d+, column \\d+`))
  })

  it('a value of the wrong type names the key and what it must be, exit 2', async () => {
    const dir = tmpDir()
    const file = join(dir, 'node.yaml')
    writeFileSync(file, 'http:\n  port: eighty\n')
    const r = await runCli(['run', '--config', file])
    expect(r.code).toBe(2)
    expectOneSentence(r.stderr)
    expect(r.stderr).toContain(`config file ${file} line 2: \`http.port\` must be a number`)
  })

  it('--help lists no command this build cannot run (device and demo are not stubs in the help)', async () => {
    const help = (await runCli(['--help'])).stdout
    expect(help).not.toMatch(/^ {2}(device|demo)\b/m)
    const r = await runCli(['device', 'list'])
    expect(r.code).toBe(2)
    expectOneSentence(r.stderr)
    expect(r.stderr).toContain("unknown command 'device'")
  })

  it('status against a node that is not running is one sentence, exit 1', async () => {
    const r = await runCli(['status', '--url', 'http://127.0.0.1:9'])
    expect(r.code).toBe(1)
    expectOneSentence(r.stderr)
    expect(r.stderr).toContain('no latchkey node answers at http://127.0.0.1:9')
  })

  // The taskset check exists on Linux only (the tool places the node's threads there).
  it.runIf(process.platform === 'linux')(
    'doctor checks for taskset, which places the node’s threads',
    async () => {
      const r = await runCli(['doctor', '--json'], { cwd: tmpDir() })
      const { checks } = JSON.parse(r.stdout) as {
        checks: Array<{ name: string; verdict: string; detail: string }>
      }
      const why = 'keeping helper threads off the event loop core'
      expect(checks.find((c) => c.name === 'taskset')).toEqual(
        hasTool('taskset')
          ? { name: 'taskset', verdict: 'ok', detail: `found (${why})` }
          : { name: 'taskset', verdict: 'warn', detail: `not found; needed for ${why}` },
      )
    },
  )
})
