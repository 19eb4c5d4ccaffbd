#!/usr/bin/env node
// webhook_peer_express.js - SMS_RECEIVED benchmark peer: the same work as
// the connector's webhook, written the way a Node.js user would with
// express and the npm `twilio` package.
//
// For each POST to --path: twilio.webhook() (the package's own express
// validator) checks X-Twilio-Signature against --public-url (the URL the
// requests were signed for, as the connector's TWILIO_WEBHOOK_PUBLIC_URL; 403
// when it does not match), the body is matched against
// `Order Number (?<orderNumber>.+)` (search, as the connector does), the
// event {matchGroups, originalMessage, to, from, messageSid, media,
// optOutType, receivedAt} is built and serialised as JSON and pushed onto an
// in-process queue (the analogue of the host's publish that enqueues; a
// consumer drains it on the next turn of the event loop; when it holds
// QUEUE_MAX events the push is refused and the answer is the error echo, as
// a full host queue refuses), and the answer is TwiML (text/xml):
// `<Response><Message>Your reference number is N</Message></Response>`, or
// `<Response/>` with no match or for an opt-out (never echoed).
//
// Options: --port-file FILE (required: binds 127.0.0.1 port 0 and writes the
// port there), --public-url URL, --token TOKEN, --path PATH, --module DIR
// (the directory holding node_modules/{express,twilio}: the packages are not
// part of the project; tests/bench/webhook_bench.py installs pinned versions
// into a cache directory outside the repository). SIGTERM/SIGINT: close and
// exit 0. One process, one thread (node's event loop): that is how express
// runs unless the user adds cluster.
// Run by tests/bench/webhook_bench.py under `make bench-webhook`; never by
// `make check` except tests/bench/webhook_peers_test.sh (a correctness check).
'use strict';

const fs = require('fs');
const path = require('path');

delete process.env.TWILIO_EDGE;
delete process.env.TWILIO_REGION;

const QUEUE_MAX = 1024;

function parse(argv) {
  const o = {'port-file': null, 'public-url': null, token: null,
             path: '/twilio/sms', module: null};
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, ''), v = argv[i + 1];
    if (v === undefined || !(k in o)) {
      throw new Error(`${argv[i]}: unknown option or missing value`);
    }
    o[k] = v;
  }
  for (const k of ['port-file', 'public-url', 'token']) {
    if (!o[k]) throw new Error(`--${k}: required`);
  }
  return o;
}

function req(mod, name) {
  return require(mod ? path.join(mod, 'node_modules', name) : name);
}

function xmlEscape(s) {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function main() {
  const o = parse(process.argv);
  const express = req(o.module, 'express');
  const twilio = req(o.module, 'twilio');
  const pattern = /Order Number (?<orderNumber>.+)/u;
  const queue = [];
  let drainScheduled = false;
  let consumed = 0;
  function drain() {
    drainScheduled = false;
    consumed += queue.length;
    queue.length = 0;
  }
  function publish(json) {
    if (queue.length >= QUEUE_MAX) return false;
    queue.push(json);
    if (!drainScheduled) {
      drainScheduled = true;
      setImmediate(drain);
    }
    return true;
  }

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.post(o.path, express.urlencoded({extended: false, limit: '64kb'}),
           twilio.webhook(o.token, {url: o['public-url']}), (rq, rs) => {
             const b = rq.body;
             const text = typeof b.Body === 'string' ? b.Body : '';
             const m = pattern.exec(text);
             let reply = '';
             if (m) {
               const media = [];
               const n = parseInt(b.NumMedia || '0', 10) || 0;
               for (let i = 0; i < n; i++) {
                 media.push({url: b['MediaUrl' + i] || null,
                             contentType: b['MediaContentType' + i] || null});
               }
               const groups = {};
               for (const [k, v] of Object.entries(m.groups || {})) {
                 groups[k] = v === undefined ? null : v;
               }
               const event = JSON.stringify({
                 matchGroups: groups, originalMessage: text,
                 to: b.To || null, from: b.From || null,
                 messageSid: b.MessageSid || null, media,
                 optOutType: b.OptOutType || null,
                 receivedAt: new Date().toISOString()});
               const ok = publish(event);
               if (!b.OptOutType) {
                 reply = ok ? `Your reference number is ${groups.orderNumber}`
                            : 'Sorry, we could not take your order number; ' +
                                  'please try again.';
               }
             }
             rs.type('text/xml');
             rs.send('<?xml version="1.0" encoding="UTF-8"?>' +
                     (reply ? '<Response><Message>' + xmlEscape(reply) +
                                  '</Message></Response>'
                            : '<Response/>'));
           });

  const server = app.listen(0, '127.0.0.1', () => {
    const tmp = o['port-file'] + '.tmp';
    fs.writeFileSync(tmp, String(server.address().port) + '\n');
    fs.renameSync(tmp, o['port-file']);
  });
  server.keepAliveTimeout = 60000;
  const stop = () => {
    server.close();
    console.error(`webhook_peer_express: ${consumed + queue.length} events`);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

try {
  main();
} catch (e) {
  console.error(`webhook_peer_express: ${e.message}`);
  process.exit(2);
}
