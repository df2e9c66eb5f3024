'use strict';
// What every SDK script shares: settings from the environment (the secret
// never goes on a command line, where `ps` would show it), the versions of
// the SDK packages that ran, and one JSON line on stdout for the Go test.
//
//   AGENTTRACE_BASE_URL    the gateway, e.g. http://127.0.0.1:8080 (the
//                          Langfuse SDKs' baseUrl)
//   AGENTTRACE_PUBLIC_KEY  the project's API key pair
//   AGENTTRACE_SECRET_KEY
//   AGENTTRACE_RUN_ID      makes the run's user, session and tags unique

const path = require('node:path');
const fs = require('node:fs');

function required(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`${path.basename(process.argv[1])}: ${name} is not set`);
    process.exit(2);
  }
  return v;
}

function settings() {
  return {
    baseUrl: required('AGENTTRACE_BASE_URL').replace(/\/+$/, ''),
    publicKey: required('AGENTTRACE_PUBLIC_KEY'),
    secretKey: required('AGENTTRACE_SECRET_KEY'),
    run: required('AGENTTRACE_RUN_ID'),
  };
}

// versions reads the installed version of each package (what npm ci put in
// node_modules, from package-lock.json).
function versions(...names) {
  const out = {};
  for (const n of names) {
    const file = path.join(__dirname, 'node_modules', ...n.split('/'), 'package.json');
    out[n] = JSON.parse(fs.readFileSync(file, 'utf8')).version;
  }
  return out;
}

// The SDKs report failed sends (an HTTP error from the server, a rejected
// event) on the console and carry on, as they should in an application.
// The scripts watch the console instead, so that a failed send fails the
// run at once with the SDK's own words.
const sdkErrors = [];
for (const level of ['error', 'warn']) {
  const orig = console[level].bind(console);
  console[level] = (...args) => {
    const line = args.map((a) => (a && a.stack ? a.stack : typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
    if (/error|fail|\b[45]\d\d\b/i.test(line)) sdkErrors.push(line.slice(0, 2000));
    orig(...args);
  };
}

// main runs fn and prints its result as one JSON line; any failure, or an
// error the SDK logged, exits non-zero with the details on stderr.
function main(fn) {
  fn().then((result) => {
    if (sdkErrors.length) throw new Error(`the SDK logged ${sdkErrors.length} error(s); the first: ${sdkErrors[0]}`);
    process.stdout.write(JSON.stringify(result) + '\n');
  }).catch((e) => {
    console.error(`${path.basename(process.argv[1])}: ${e && e.stack ? e.stack : e}`);
    process.exit(1);
  });
}

module.exports = { settings, versions, main };
