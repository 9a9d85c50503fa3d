-- replay.lua: sends the lines of REQUESTS (PATH<TAB>Authorization) in turn,
-- each thread from its own offset, and prints a RESULT line like prov.lua.
local lines = {}
for l in io.lines(os.getenv("REQUESTS")) do
  local path, auth = l:match("^([^\t]+)\t(.*)$")
  lines[#lines + 1] = { path, auth }
end
local i = 0
function init(args)
  i = math.random(#lines)
end
function request()
  i = i % #lines + 1
  return wrk.format("GET", lines[i][1], { ["Authorization"] = lines[i][2] })
end
function done(summary, latency, requests)
  io.write(string.format(
    'RESULT {"label":"%s","rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"requests":%d,"non401":%d}\n',
    os.getenv("LABEL") or "", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    summary.requests, summary.requests - (summary.errors.status or 0)))
end
