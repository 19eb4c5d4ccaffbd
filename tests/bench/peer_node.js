#!/usr/bin/env node
// peer_node.js - benchmark peer: Twilio's official Node.js helper library.
//
// Sends N messages through the npm `twilio` package to a Twilio-compatible
// server (the sandbox) with K promises in flight on one client, and prints
// one JSON line in the same shape as raw-curl:
//   {"client":"node-twilio","inflight":K,"messages":N,"ok":..,"failed":..,
//    "seconds":..,"msg_per_s":..,"cpu_s":..,"max_rss_kib":..}
//
// The package is not part of the project: run_bench.py installs it into a
// cache directory outside the repository and passes it as --module DIR.
// TLS: TWILIO_CA_BUNDLE (read by the library itself) names the test CA.
// Run by tests/bench/run_bench.py under `make bench`; never by `make check`.
'use strict';

delete process.env.TWILIO_EDGE;
delete process.env.TWILIO_REGION;

function parse(argv) {
  const o = {
    account: 'AC00000000000000000000000000000000',
    token: process.env.RAW_CURL_TOKEN || 'sandbox-token',
    messages: 1000, inflight: 16, from: '+15005550006',
    body: 'Your order 42 has shipped.', module: 'twilio',
  };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, ''), v = argv[i + 1];
    if (v === undefined || !(k in o) && k !== 'url') {
      throw new Error(`${argv[i]}: unknown option or missing value`);
    }
    o[k] = (k === 'messages' || k === 'inflight') ? parseInt(v, 10) : v;
  }
  if (!o.url) throw new Error('--url: required');
  return o;
}

async function main() {
  const o = parse(process.argv);
  const twilio = require(o.module);
  const client = twilio(o.account, o.token,
                        {keepAlive: true, maxSockets: o.inflight,
                         maxFreeSockets: o.inflight});
  client.api.baseUrl = o.url;
  let next = 0, ok = 0, failed = 0;
  async function worker() {
    while (next < o.messages) {
      const i = next++;
      try {
        const m = await client.messages.create({
          to: '+1415' + String(i % 10000000).padStart(7, '0'),
          from: o.from, body: o.body});
        if (m.sid.startsWith('SM')) ok++; else failed++;
      } catch (e) {
        if (!failed) console.error(`node-twilio: first failure: ${e}`);
        failed++;
      }
    }
  }
  const t0 = process.hrtime.bigint();
  const workers = [];
  for (let k = 0; k < o.inflight; k++) workers.push(worker());
  await Promise.all(workers);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage();
  console.log(JSON.stringify({
    client: 'node-twilio', inflight: o.inflight, messages: o.messages, ok,
    failed, seconds: +secs.toFixed(4),
    msg_per_s: secs > 0 ? +(ok / secs).toFixed(1) : 0,
    cpu_s: +((cpu.user + cpu.system) / 1e6).toFixed(4),
    max_rss_kib: process.resourceUsage().maxRSS}));
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => { console.error(`node-twilio: ${e.message}`); process.exit(2); });
