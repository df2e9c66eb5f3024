'use strict';
// Development aid: a server that prints every request it receives (method,
// path, decoded JSON body) so that what an SDK sends can be read. Not used
// by the tests. Usage: node capture.js [port]
const http = require('node:http');
const zlib = require('node:zlib');
http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
    let shown = body.toString('utf8');
    try { shown = JSON.stringify(JSON.parse(shown), null, 1); } catch { shown = `<${body.length} bytes ${req.headers['content-type']}>`; }
    console.log(`${req.method} ${req.url}\n${shown}\n`);
    res.writeHead(req.url.includes('ingestion') ? 207 : 200, { 'Content-Type': 'application/json' });
    res.end(req.url.includes('ingestion') ? '{"successes":[],"errors":[]}' : '{}');
  });
}).listen(Number(process.argv[2] || 4999), '127.0.0.1');
