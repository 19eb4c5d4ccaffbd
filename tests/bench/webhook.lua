-- webhook.lua - wrk script of the SMS_RECEIVED benchmark: replays
-- pre-signed inbound-SMS webhooks.
--
-- Reads REQUESTS_FILE (environment), one request per line as written by
-- `twilio-sandbox inbound --load N --out FILE` or tests/bench/webhook_requests.py:
--   SIGNATURE<TAB>BODY      (BODY form-encoded)
-- and POSTs them to the URL given to wrk (its path is used as is), with
-- X-Twilio-Signature: SIGNATURE and Content-Type
-- application/x-www-form-urlencoded.
--
-- Distinct requests: thread T of NT (wrk -t NT; WRK_THREADS=NT) sends lines T, T+NT, T+2NT...
-- (wrapping at the end of the file), and within a thread every request()
-- call (whichever connection asks) takes the next of those lines; so no two
-- requests in flight carry the same MessageSid, and no line repeats before
-- the whole file has been sent once. A file at least as long as the run's
-- request count (or a dedupe TTL shorter than one pass over the file) keeps
-- the connector's dedupe from short-circuiting; webhook_bench.py checks the
-- count against the file's length after each run. REQUESTS_START (default
-- 0) shifts the starting line, so that consecutive runs against one process
-- begin where the last one stopped.
--
-- Fixed offered load: with WRK_DELAY_MS=D (environment) every connection
-- waits D ms before each request, so C connections offer at most C*1000/D
-- requests a second whatever the server could take; the RSS run uses it so
-- that the dedupe store (rate x TTL entries) has the same size at every
-- point it reads.
--
-- Requests are formatted once, at thread start (wrk.format), so request()
-- costs a table lookup. done() prints one JSON line (prefixed "WRKJSON ") with
-- requests, errors by kind (status: answers other than 2xx/3xx), duration
-- and latency percentiles in microseconds, for webhook_bench.py to parse
-- (done() runs in wrk's main Lua state, which has none of the threads'
-- locals).

local requests = {}
local n = 0
local pos = 0
local step = 1
local counter = 0

function setup(thread)
	thread:set("tid", counter)
	counter = counter + 1
end

function init(args)
	local path = os.getenv("REQUESTS_FILE")
	if not path then
		error("webhook.lua: set REQUESTS_FILE to a SIGNATURE<TAB>BODY file")
	end
	local f = assert(io.open(path, "r"))
	local headers = {
		["Content-Type"] = "application/x-www-form-urlencoded",
		["X-Twilio-Signature"] = "",
	}
	for line in f:lines() do
		local tab = line:find("\t", 1, true)
		if tab then
			headers["X-Twilio-Signature"] = line:sub(1, tab - 1)
			n = n + 1
			requests[n] = wrk.format("POST", nil, headers, line:sub(tab + 1))
		end
	end
	f:close()
	if n == 0 then
		error("webhook.lua: " .. path .. " holds no SIGNATURE<TAB>BODY line")
	end
	-- init runs right after this thread's setup(), before the next
	-- thread's: the thread count comes from the environment.
	step = tonumber(os.getenv("WRK_THREADS") or "1")
	-- each thread its own residue class; REQUESTS_START shifts them all
	pos = (tonumber(os.getenv("REQUESTS_START") or "0") + tid) % n
end

local delay_ms = tonumber(os.getenv("WRK_DELAY_MS") or "")
if delay_ms and delay_ms > 0 then
	function delay()
		return delay_ms
	end
end

function request()
	local r = requests[pos + 1]
	pos = (pos + step) % n
	return r
end

function done(summary, latency, requests_)
	local e = summary.errors
	io.write(string.format(
		'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
		'"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,' ..
		'"timeout":%d},"latency_us":{"p50":%d,"p75":%d,' ..
		'"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
		summary.requests, summary.duration, summary.bytes, e.connect,
		e.read, e.write, e.status, e.timeout, latency:percentile(50),
		latency:percentile(75), latency:percentile(90),
		latency:percentile(99), latency.max, latency.mean))
end
