-- wrk script for searchd: cycles through the benchmark query log
-- (type<TAB>lang<TAB>source<TAB>query per line) as GET /search?q=...,
-- each wrk thread starting at a different place, and prints one JSON line
-- with the latency percentiles (ms), requests, duration and errors.
--   wrk -t T -c C -d D -s tests/bench/wrk.lua URL -- QUERYFILE
-- With an empty QUERYFILE (/dev/null) every request is GET URL's own path
-- (for /healthz).
--   wrk ... -s tests/bench/wrk.lua URL -- QUERYFILE groonga
-- asks Groonga's HTTP server instead, as benchq's groonga engine does:
-- GET /d/select on table Docs with the query's syntax characters escaped.

local threads = {}
local paths = {}
local idx = 1

local function urlencode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local function groonga_path(q)
  local esc = q:gsub('[\\"()+%-<>~*]', function(c) return "\\" .. c end)
  return "/d/select?table=Docs&match_columns=" .. urlencode("title * 10 || body") ..
    "&output_columns=_key&limit=10&sort_keys=-_score&query_flags=NONE&query=" .. urlencode(esc)
end

function init(args)
  local f = assert(io.open(args[1], "r"))
  local groonga = args[2] == "groonga"
  for line in f:lines() do
    if line:sub(1, 1) ~= "#" then
      local q = line:match("^[^\t]*\t[^\t]*\t[^\t]*\t(.*)$")
      if q and #q > 0 then
        paths[#paths + 1] = groonga and groonga_path(q) or ("/search?q=" .. urlencode(q))
      end
    end
  end
  f:close()
  if #paths == 0 then
    paths[1] = wrk.path
  end
  idx = ((tid or 0) * 977) % #paths + 1
end

function request()
  local p = paths[idx]
  idx = idx % #paths + 1
  return wrk.format("GET", p)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50":%.3f,"p90":%.3f,"p99":%.3f,' ..
    '"mean":%.3f,"max":%.3f,"err_connect":%d,"err_read":%d,"err_write":%d,' ..
    '"err_status":%d,"err_timeout":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000, latency.max / 1000, e.connect, e.read, e.write, e.status, e.timeout))
end
