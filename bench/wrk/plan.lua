-- wrk script for the Corridor benchmark: replays a request plan written by bench/load.py and records, per
-- response, the status and the app's own time from `Server-Timing: app;dur=<ms>`.
--
-- BENCH_PLAN: one request per line: METHOD <TAB> PATH <TAB> HEADERS <TAB> BODY, headers "Name: value"
--             separated by the ASCII unit separator (\31). Requests are replayed in order, round and round.
-- BENCH_OUT:  where done() writes the results as JSON.
-- BENCH_NONCE: a run-unique prefix; "{{KEY}}" in a body becomes BENCH_NONCE-<thread>-<counter>, a fresh
--             idempotency key per request (such requests are formatted as they are sent).

local plan_path = os.getenv("BENCH_PLAN")
local out_path = os.getenv("BENCH_OUT")
local threads = {}
local counter = 0
local nonce = os.getenv("BENCH_NONCE") or tostring(os.time())
local sent = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

local reqs, n, i
timings = {}
statuses = {}
body_bytes = 0
responses = 0

function init(args)
  reqs = {}
  for line in io.lines(plan_path) do
    local method, path, hdrs, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    if method then
      local headers = {}
      for h in hdrs:gmatch("[^\31]+") do
        local k, v = h:match("^([^:]+):%s*(.*)$")
        if k then headers[k] = v end
      end
      if body == "" then body = nil end
      if body and body:find("{{KEY}}", 1, true) then
        reqs[#reqs + 1] = {method, path, headers, body}  -- formatted per request, with a fresh key
      else
        reqs[#reqs + 1] = wrk.format(method, path, headers, body)
      end
    end
  end
  n = #reqs
  -- Threads start at different points of the plan, so they do not send the same request together.
  i = ((id or 1) - 1) * math.floor(n / 7) % math.max(n, 1)
end

function request()
  i = i % n + 1
  local r = reqs[i]
  if type(r) == "table" then
    sent = sent + 1
    local key = nonce .. "-" .. (id or 1) .. "-" .. sent
    return wrk.format(r[1], r[2], r[3], (r[4]:gsub("{{KEY}}", key)))
  end
  return r
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  responses = responses + 1
  if body then body_bytes = body_bytes + #body end
  local st = headers["server-timing"] or headers["Server-Timing"]
  if st then
    local d = st:match("dur=([%d%.]+)")
    if d then timings[#timings + 1] = d end
  end
end

local function q(s) return '"' .. s .. '"' end

function done(summary, latency, requests)
  local out = assert(io.open(out_path, "w"))
  local all_timings, all_statuses, all_bytes, all_responses = {}, {}, 0, 0
  for _, thread in ipairs(threads) do
    for _, v in ipairs(thread:get("timings")) do all_timings[#all_timings + 1] = v end
    for k, v in pairs(thread:get("statuses")) do all_statuses[k] = (all_statuses[k] or 0) + v end
    all_bytes = all_bytes + thread:get("body_bytes")
    all_responses = all_responses + thread:get("responses")
  end
  local st = {}
  for k, v in pairs(all_statuses) do st[#st + 1] = q(k) .. ":" .. v end
  local e = summary.errors
  out:write("{", q("requests"), ":", summary.requests, ",", q("duration_us"), ":", summary.duration, ",",
    q("bytes"), ":", summary.bytes, ",", q("body_bytes"), ":", all_bytes, ",", q("responses"), ":", all_responses, ",",
    q("errors"), ":{", q("connect"), ":", e.connect, ",", q("read"), ":", e.read, ",", q("write"), ":", e.write, ",",
    q("status"), ":", e.status, ",", q("timeout"), ":", e.timeout, "},",
    q("latency_us"), ":{", q("mean"), ":", latency.mean, ",", q("max"), ":", latency.max, ",",
    q("p50"), ":", latency:percentile(50), ",", q("p90"), ":", latency:percentile(90), ",",
    q("p95"), ":", latency:percentile(95), ",", q("p99"), ":", latency:percentile(99), "},",
    q("statuses"), ":{", table.concat(st, ","), "},",
    q("server_ms"), ":[", table.concat(all_timings, ","), "]}\n")
  out:close()
end
