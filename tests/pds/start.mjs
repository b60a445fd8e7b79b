// Starts the reference Bluesky PDS and a PLC directory (@atproto/dev-env's TestNetworkNoAppView) on
// loopback for the tests; with a second argument `appview`, the whole TestNetwork: PDS, PLC and the
// Bluesky AppView that serves notifications and threads (it needs $DB_POSTGRES_URL, $REDIS_HOST and
// $DB_POSTGRES_SCHEMA, a schema name of letters and '_').
// Usage: node start.mjs PDS_DIR [appview] (PDS_DIR: where install.sh put node_modules).
// Prints one JSON line, {"pds": URL, "plc": URL[, "appview": URL]}, once all serve. Reads commands
// from standard input, one a line: `process` makes the AppView index everything written so far
// (network.processAll()) and answers {"processed": N} (N counts the commands answered). Stops when
// its standard input closes (the test session ended or died) or on SIGTERM/SIGINT. Data lives
// under $TMPDIR.
import readline from 'node:readline'
import net from 'node:net'
import path from 'node:path'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'

// The reference servers listen on every interface; the tests' servers stay on loopback.
const listen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1')
  return listen.apply(this, args)
}

const dir = process.argv[2]
if (!dir) {
  console.error('usage: node start.mjs PDS_DIR')
  process.exit(2)
}
const require = createRequire(path.join(path.resolve(dir), 'package.json'))
const { TestNetwork, TestNetworkNoAppView } = await import(pathToFileURL(require.resolve('@atproto/dev-env')).href)
const withAppView = process.argv[3] === 'appview'

// As on bsky.social: 30 logins per 5 minutes per account, and the write limits.
const pds = { rateLimitsEnabled: true }
const network = withAppView
  ? await TestNetwork.create({ pds, dbPostgresSchema: process.env.DB_POSTGRES_SCHEMA })
  : await TestNetworkNoAppView.create({ pds })
let closing = false
async function stop() {
  if (closing) return
  closing = true
  try {
    await network.close()
  } finally {
    process.exit(0)
  }
}
let answered = 0
const commands = readline.createInterface({ input: process.stdin })
commands.on('line', async (line) => {
  if (line.trim() === 'process' && withAppView) {
    try {
      await network.processAll()
      answered += 1
      process.stdout.write(JSON.stringify({ processed: answered }) + '\n')
    } catch (e) {
      process.stdout.write(JSON.stringify({ error: `processAll failed: ${e}` }) + '\n')
    }
  } else if (line.trim()) {
    process.stdout.write(JSON.stringify({ error: `unknown command ${JSON.stringify(line.trim())}` }) + '\n')
  }
})
commands.on('close', stop)
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
const urls = { pds: network.pds.url, plc: network.plc.url }
if (withAppView) urls.appview = network.bsky.url
process.stdout.write(JSON.stringify(urls) + '\n')
