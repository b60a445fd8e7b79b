// Starts the reference Bluesky PDS and a PLC directory (@atproto/dev-env's TestNetworkNoAppView) on
// loopback for the tests. Usage: node start.mjs PDS_DIR (where install.sh put node_modules).
// Prints one JSON line, {"pds": URL, "plc": URL}, once both serve; stops when its standard input
// closes (the test session ended or died) or on SIGTERM/SIGINT. Data lives under $TMPDIR.
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
const { TestNetworkNoAppView } = await import(pathToFileURL(require.resolve('@atproto/dev-env')).href)

const network = await TestNetworkNoAppView.create({
  // As on bsky.social: 30 logins per 5 minutes per account, and the write limits.
  pds: { rateLimitsEnabled: true },
})
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
process.stdin.on('end', stop)
process.stdin.on('close', stop)
process.stdin.resume()
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.stdout.write(JSON.stringify({ pds: network.pds.url, plc: network.plc.url }) + '\n')
