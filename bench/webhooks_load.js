// autocannon for bench/webhooks.py: reads {url, file, connections, timeout} as JSON on stdin;
// `file` holds one {"body", "signature"} a line, each sent once (in order, across all
// connections) with its own Stripe-Signature header. Prints autocannon's result as JSON.
'use strict'
const fs = require('fs')
const path = require('path')
const autocannon = require(path.join(process.env.AUTOCANNON_HOME, 'node_modules', 'autocannon'))

let input = ''
process.stdin.on('data', (chunk) => { input += chunk })
process.stdin.on('end', () => {
  const spec = JSON.parse(input)
  const requests = fs.readFileSync(spec.file, 'utf8').split('\n').filter(Boolean).map(JSON.parse)
  let next = 0
  const opts = {
    url: spec.url,
    connections: spec.connections,
    method: 'POST',
    timeout: spec.timeout,
    amount: requests.length,
    requests: [{
      setupRequest: (request) => {
        const one = requests[next % requests.length]
        next += 1
        request.method = 'POST'
        request.body = one.body
        request.headers = {
          ...request.headers,
          'content-type': 'application/json',
          'stripe-signature': one.signature,
        }
        return request
      },
    }],
  }
  autocannon(opts, (err, result) => {
    if (err) {
      console.error(String(err))
      process.exit(1)
    }
    process.stdout.write(JSON.stringify(result))
  })
})
