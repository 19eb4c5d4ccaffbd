#!/usr/bin/env node
// prism_shim.js - a loopback proxy in front of Prism for tests/openapi_prism.sh.
//
// Twilio (OpenAPI form bodies, style=form, explode=true) sends an array
// parameter as a repeated key: MediaUrl=a&MediaUrl=b. Prism 5.x does not
// read repeated keys as arrays (stoplightio/prism issue #2473: it keeps the
// last value and answers 422 "must be array"); it only understands the
// qs convention MediaUrl[]=a. This proxy renames, in form bodies only, each
// key that the spec declares as an array for the requested operation to
// KEY[]; every other byte of the request and of the answer passes unchanged,
// so Prism still judges everything else the client sent.
//
// It logs one JSON line per request: {"method","path","content_type",
// "keys":[names as the client sent them, in order],"auth":"basic"|"none",
// "status"} (never the Authorization value) to --log.
//
// usage: node prism_shim.js --spec SPEC --upstream PORT --port-file F --log F
// Listens on 127.0.0.1, port 0 (the chosen port goes to --port-file,
// written atomically). Exits on SIGTERM/SIGINT.
'use strict';
const fs = require('fs');
const http = require('http');

function args(argv) {
  const o = {};
  for (let i = 2; i + 1 < argv.length; i += 2) o[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const k of ['spec', 'upstream', 'port-file', 'log']) {
    if (!o[k]) throw new Error(`--${k}: required`);
  }
  return o;
}

// [{re, method, arrays:Set}] for every operation with a form body.
function formOperations(spec) {
  const ops = [];
  const resolve = (s) => {
    while (s && s.$ref) {
      s = s.$ref.replace(/^#\//, '').split('/').reduce((n, k) => n[k], spec);
    }
    return s;
  };
  for (const [p, item] of Object.entries(spec.paths || {})) {
    const re = new RegExp('^' + p.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+') + '$');
    for (const [method, op] of Object.entries(item)) {
      const form = op && op.requestBody && op.requestBody.content &&
          op.requestBody.content['application/x-www-form-urlencoded'];
      if (!form) continue;
      const schema = resolve(form.schema) || {};
      const arrays = new Set();
      for (const [name, prop] of Object.entries(schema.properties || {})) {
        if ((resolve(prop) || {}).type === 'array') arrays.add(name);
      }
      ops.push({re, method: method.toUpperCase(), arrays});
    }
  }
  return ops;
}

function decodeKey(k) {
  try {
    return decodeURIComponent(k.replace(/\+/g, ' '));
  } catch (e) {
    return k;
  }
}

function main() {
  const o = args(process.argv);
  const ops = formOperations(JSON.parse(fs.readFileSync(o.spec, 'utf8')));
  const log = fs.createWriteStream(o.log, {flags: 'a'});
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      const path = req.url.split('?')[0];
      const ctype = req.headers['content-type'] || '';
      const keys = [];
      if (/^application\/x-www-form-urlencoded/i.test(ctype)) {
        const op = ops.find((x) => x.method === req.method && x.re.test(path));
        const parts = body.toString('latin1').split('&').filter((s) => s.length);
        body = Buffer.from(parts.map((pair) => {
          const eq = pair.indexOf('=');
          const rawKey = eq < 0 ? pair : pair.slice(0, eq);
          const key = decodeKey(rawKey);
          keys.push(key);
          if (op && op.arrays.has(key)) return rawKey + '%5B%5D' + (eq < 0 ? '' : pair.slice(eq));
          return pair;
        }).join('&'), 'latin1');
      }
      const headers = Object.assign({}, req.headers, {'content-length': String(body.length)});
      const up = http.request({host: '127.0.0.1', port: +o.upstream, method: req.method,
                               path: req.url, headers}, (ur) => {
        log.write(JSON.stringify({method: req.method, path, content_type: ctype, keys,
                                  auth: /^Basic /i.test(req.headers.authorization || '') ? 'basic' : 'none',
                                  status: ur.statusCode}) + '\n');
        res.writeHead(ur.statusCode, ur.headers);
        ur.pipe(res);
      });
      up.on('error', (e) => {
        res.writeHead(502, {'content-type': 'text/plain'});
        res.end(`prism_shim: upstream: ${e.message}\n`);
      });
      up.end(body);
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const tmp = o['port-file'] + '.tmp';
    fs.writeFileSync(tmp, String(server.address().port) + '\n');
    fs.renameSync(tmp, o['port-file']);
  });
  const stop = () => {
    server.close();
    log.end();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
