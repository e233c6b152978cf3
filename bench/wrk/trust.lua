-- wrk script for the trust-scale rows (bench/trust_scale.py): each wrk thread is one member of staff at one school,
-- on one connection (run as `wrk -tN -cN`), going round one part's steps closed loop, and every response is read for
-- identifiers (the leak check) before the next request is sent.
--
-- BENCH_SPEC:  one line per client (thread), tab-separated: school, the Cookie header, the X-CSRFToken value, then
--              the form bodies to send in turn, separated by the ASCII unit separator (\31). "{{KEY}}" in a body
--              becomes a fresh idempotency key: BENCH_NONCE-<thread>-<counter>.
-- BENCH_PART:  lookup       POST /pupils/search (htmx)
--              quick_entry  POST /incidents/, then GET the page its 303 names (/incidents/new?logged=<id>)
--              oncall_board POST /oncall/, GET /oncall/board (must show the raise), POST /oncall/<id>/cancel
-- BENCH_OUT:   where done() writes every thread's findings as JSON.
--
-- The identifiers are the ones bench/trust_scale.py's LeakCheck judges (owners are read from the database there):
-- pupil ids (links, data-pupil-id, pupil_id inputs), pupil names (class="pupil-name"), category ids (the quick-entry
-- form's radios), location ids (the options of its location select), incident and on-call ids (links), and staff
-- names ("(school N)": the bench's staff are "Staff N (school S)"). Per thread they are kept once each, keyed by
-- the request that carried them, with how many responses carried them.

local ffi = require "ffi"
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
typedef struct {
  const unsigned char *next_in; unsigned int avail_in; unsigned long total_in;
  unsigned char *next_out; unsigned int avail_out; unsigned long total_out;
  const char *msg; void *state; void *zalloc; void *zfree; void *opaque;
  int data_type; unsigned long adler; unsigned long reserved;
} bench_z_stream;
int inflateInit2_(bench_z_stream *strm, int windowBits, const char *version, int stream_size);
int inflate(bench_z_stream *strm, int flush);
int inflateEnd(bench_z_stream *strm);
const char *zlibVersion(void);
]]

local ok_z, zlib = pcall(ffi.load, "z")
if not ok_z then ok_z, zlib = pcall(ffi.load, "libz.so.1") end

local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

-- A gzip (or zlib) body inflated; nil when it cannot be (the response is then counted as not checked: an error).
local chunk = 65536
local outbuf = ffi.new("unsigned char[?]", chunk)
local function inflate(data)
  if not ok_z then return nil end
  local strm = ffi.new("bench_z_stream")
  if zlib.inflateInit2_(strm, 15 + 32, zlib.zlibVersion(), ffi.sizeof(strm)) ~= 0 then return nil end
  strm.next_in = ffi.cast("const unsigned char *", data)
  strm.avail_in = #data
  local parts = {}
  local rc
  repeat
    strm.next_out = outbuf
    strm.avail_out = chunk
    rc = zlib.inflate(strm, 0)
    if rc ~= 0 and rc ~= 1 then zlib.inflateEnd(strm); return nil end
    parts[#parts + 1] = ffi.string(outbuf, chunk - strm.avail_out)
  until rc == 1 or (strm.avail_in == 0 and strm.avail_out ~= 0)
  zlib.inflateEnd(strm)
  if rc ~= 1 then return nil end -- truncated
  return table.concat(parts)
end

-- Set per thread by setup(), from BENCH_SPEC -------------------------------------------------------------------

local spec_path, part, out_path = os.getenv("BENCH_SPEC"), os.getenv("BENCH_PART"), os.getenv("BENCH_OUT")
local nonce = os.getenv("BENCH_NONCE") or tostring(os.time())
local threads = {}
local spec

function setup(thread)
  if not spec then
    spec = {}
    for l in io.lines(spec_path) do spec[#spec + 1] = l end
  end
  local n = #threads + 1
  local line = spec[n]
  if not line then error("BENCH_SPEC has no line for thread " .. n) end
  local school, cookie, csrf, bodies = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
  thread:set("id", n)
  thread:set("school", tonumber(school))
  thread:set("cookie", cookie)
  thread:set("csrf", csrf)
  thread:set("bodies", bodies)
  threads[n] = thread
end

-- Per thread (each wrk thread has its own Lua state) ---------------------------------------------------------------

found = {}       -- "what\tkind\tvalue" -> responses that carried it
checked = 0      -- responses read for identifiers
ids = 0          -- identifiers read (each distinct one once per response)
statuses = {}    -- kind -> {status -> count}
server_ms = {}   -- kind -> {Server-Timing app;dur, ...}
client_ms = {}   -- kind -> {request sent -> response read, ...}
flow_ms = {}     -- quick entry: POST -> page read; on-call: raise POST -> the board that shows it
flows = 0
missing = 0      -- on-call: a board read after the raise that does not show it
undecodable = 0  -- bodies that could not be inflated (so not checked)
unanswered = 0   -- requests wrk sent again without a response (a socket error): the step is started over

local list = {}
local step, sent_at, flow_t0, rid, next_path = 1, nil, nil, nil, nil
local counter, bi = 0, 0
local kind -- the request in flight
local dry -- wrk calls the first thread's request() once before the run, to check it (script_verify_request)

function init(args)
  for b in (bodies or ""):gmatch("[^\31]+") do list[#list + 1] = b end
  bi = ((id or 1) * 7) % math.max(#list, 1)
  dry = id == 1
end

local function next_body()
  bi = bi % #list + 1
  local b = list[bi]
  if b:find("{{KEY}}", 1, true) then
    counter = counter + 1
    b = b:gsub("{{KEY}}", nonce .. "-" .. id .. "-" .. counter)
  end
  return b
end

local function headers(unsafe, htmx)
  local h = {["Accept"] = "text/html", ["Accept-Encoding"] = "gzip, deflate", ["Cookie"] = cookie}
  if unsafe then
    h["X-CSRFToken"] = csrf
    h["Content-Type"] = "application/x-www-form-urlencoded"
  end
  if htmx then h["HX-Request"] = "true" end
  return h
end

function request()
  if kind then -- no response to the last request (wrk reconnected): start the part's round again
    unanswered = unanswered + 1
    step = 1
  end
  local method, path, body, h
  if part == "lookup" then
    kind, method, path, body, h = "lookup", "POST", "/pupils/search", next_body(), headers(true, true)
  elseif part == "quick_entry" then
    if step == 1 then
      flow_t0 = now_ms()
      kind, method, path, body, h = "incident_post", "POST", "/incidents/", next_body(), headers(true)
    else
      kind, method, path, h = "quick_entry_page", "GET", next_path, headers(false)
    end
  else
    if step == 1 then
      flow_t0 = now_ms()
      kind, method, path, body, h = "oncall_raise", "POST", "/oncall/", next_body(), headers(true)
    elseif step == 2 then
      kind, method, path, h = "oncall_board", "GET", "/oncall/board", headers(false)
    else
      kind, method, path, body, h = "oncall_cancel", "POST", "/oncall/" .. rid .. "/cancel", "", headers(true)
    end
  end
  sent_at = now_ms()
  if dry then dry, kind = false, nil end -- never sent: the round starts again with the first real request
  return wrk.format(method, path, h, body)
end

local WHAT = {lookup = "lookup", incident_post = "incident POST", quick_entry_page = "quick entry page",
              oncall_raise = "on-call raise", oncall_board = "on-call board", oncall_cancel = "on-call cancel"}

local function keep(seen, what, k, value)
  local key = k .. "\t" .. value
  if seen[key] then return end
  seen[key] = true
  ids = ids + 1
  key = what .. "\t" .. key
  found[key] = (found[key] or 0) + 1
end

-- The identifiers in one body (the patterns of the module docstring; each distinct one once per response).
local function read(body, what)
  checked = checked + 1
  local seen = {}
  for v in body:gmatch("/pupils/(%d+)") do keep(seen, what, "pupil", v) end
  for v in body:gmatch('data%-pupil%-id="(%d+)"') do keep(seen, what, "pupil", v) end
  for v in body:gmatch('name="pupil_id" value="(%d+)"') do keep(seen, what, "pupil", v) end
  for v in body:gmatch("/incidents/(%d+)") do keep(seen, what, "incident", v) end
  for v in body:gmatch("/oncall/(%d+)") do keep(seen, what, "oncall", v) end
  for v in body:gmatch('name="category_id" value="(%d+)"') do keep(seen, what, "category", v) end
  for v in body:gmatch("%(school (%d+)%)") do keep(seen, what, "staff", v) end
  for block in body:gmatch('<select[^>]*name="location_id"[^>]*>(.-)</select>') do
    for v in block:gmatch('<option value="(%d+)"') do keep(seen, what, "location", v) end
  end
  for v in body:gmatch('class="pupil%-name">([^<]+)<') do
    keep(seen, what, "pupil_name", (v:gsub("[\t\r\n]", " ")))
  end
end

local function add(t, k, v)
  local l = t[k]
  if not l then l = {}; t[k] = l end
  l[#l + 1] = v
end

function response(status, hdrs, body)
  local t = now_ms()
  local k = kind
  kind = nil
  if not k then return end
  local s = statuses[k]
  if not s then s = {}; statuses[k] = s end
  s[tostring(status)] = (s[tostring(status)] or 0) + 1
  add(client_ms, k, t - sent_at)
  local st = hdrs["server-timing"] or hdrs["Server-Timing"]
  local d = st and st:match("dur=([%d%.]+)")
  if d then add(server_ms, k, tonumber(d)) end

  local text = body or ""
  local enc = hdrs["content-encoding"] or hdrs["Content-Encoding"]
  if enc and enc ~= "identity" and #text > 0 then
    text = (enc == "gzip" or enc == "deflate") and inflate(text) or nil
  end
  if text == nil then
    undecodable = undecodable + 1
    text = ""
  else
    read(text, WHAT[k])
  end

  local loc = hdrs["location"] or hdrs["Location"] or ""
  if k == "lookup" then
    flows = flows + 1
  elseif k == "incident_post" then
    local logged = status == 303 and loc:match("logged=(%d+)")
    if logged then next_path, step = loc, 2 end
  elseif k == "quick_entry_page" then
    if status == 200 then
      flow_ms[#flow_ms + 1] = t - flow_t0
      flows = flows + 1
    end
    step = 1
  elseif k == "oncall_raise" then
    local raised = status == 303 and loc:match("/oncall/(%d+)")
    if raised then rid, step = raised, 2 end
  elseif k == "oncall_board" then
    if status == 200 then
      flow_ms[#flow_ms + 1] = t - flow_t0
      flows = flows + 1
      if not text:find('/oncall/' .. rid .. '"', 1, true) then missing = missing + 1 end
    end
    step = 3
  elseif k == "oncall_cancel" then
    step = 1
  end
end

-- done(): every thread's findings, as JSON ------------------------------------------------------------------------

local function json(v)
  local t = type(v)
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    return (v == math.floor(v) and math.abs(v) < 1e15) and string.format("%d", v) or string.format("%.3f", v)
  elseif t == "string" then
    return '"' .. v:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
  elseif t == "table" then
    local out = {}
    if #v > 0 then
      for _, x in ipairs(v) do out[#out + 1] = json(x) end
      return "[" .. table.concat(out, ",") .. "]"
    end
    for key, x in pairs(v) do out[#out + 1] = json(tostring(key)) .. ":" .. json(x) end
    return "{" .. table.concat(out, ",") .. "}"
  end
  return "null"
end

-- wrk's thread:get copies a table value with a stack slip that corrupts the thread's Lua state when the table holds
-- tables (it crashes), so each thread hands over one string: reading the global "report" in a thread's state (as
-- thread:get does, with lua_getfield, which honours __index) builds its JSON there.
local function report()
  return json({school = school, found = found, checked = checked, ids = ids, statuses = statuses,
               server_ms = server_ms, client_ms = client_ms, flow_ms = flow_ms, flows = flows, missing = missing,
               undecodable = undecodable, unanswered = unanswered})
end
setmetatable(_G, {__index = function(_, name) if name == "report" then return report() end end})

function done(summary, latency, requests)
  local out = assert(io.open(out_path, "w"))
  local per = {}
  for n, thread in ipairs(threads) do per[n] = thread:get("report") end
  local e = summary.errors
  out:write('{"requests":', summary.requests, ',"duration_us":', summary.duration, ',"bytes":', summary.bytes,
            ',"errors":', json({connect = e.connect, read = e.read, write = e.write, status = e.status,
                                timeout = e.timeout}),
            ',"zlib":', tostring(ok_z), ',"threads":[', table.concat(per, ","), "]}\n")
  out:close()
end
