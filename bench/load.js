// Runs autocannon with the options bench/load.py writes on stdin (JSON) and prints its
// result as JSON on stdout. `bodies` (a list) are sent in turn, one per request, across all
// connections, each with its `body_headers` entry (when given) added to the headers; `forbid`
// counts the 2xx answers whose body contains that text as mismatches.
'use strict'
const path = require('path')
const autocannon = require(path.join(process.env.AUTOCANNON_HOME, 'node_modules', 'autocannon'))

let input = ''
process.stdin.on('data', (chunk) => { input += chunk })
process.stdin.on('end', () => {
  const spec = JSON.parse(input)
  const opts = {
    url: spec.url,
    connections: spec.connections,
    method: spec.method,
    headers: spec.headers,
    timeout: spec.timeout,
  }
  if (spec.amount) opts.amount = spec.amount
  else opts.duration = spec.duration
  if (spec.body !== null) opts.body = spec.body
  if (spec.bodies) {
    let next = 0
    opts.requests = [{
      setupRequest: (request) => {
        const i = next % spec.bodies.length
        request.body = spec.bodies[i]
        if (spec.body_headers) request.headers = { ...request.headers, ...spec.body_headers[i] }
        next += 1
        return request
      },
    }]
  }
  if (spec.forbid) opts.verifyBody = (body) => !body.includes(spec.forbid)
  autocannon(opts, (err, result) => {
    if (err) {
      console.error(String(err))
      process.exit(1)
    }
    process.stdout.write(JSON.stringify(result))
  })
})
