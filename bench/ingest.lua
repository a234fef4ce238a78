-- wrk script: POST one entry per request to a path chosen from BENCH_PATHS
-- (a file of request paths), with BENCH_BODY and BENCH_AUTH from bench/run.py.
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local body = os.getenv("BENCH_BODY")
local auth = os.getenv("BENCH_AUTH")
local counter = 0

request = function()
  counter = counter + 1
  local headers = {["Content-Type"] = "application/json"}
  if auth and auth ~= "" then headers["Authorization"] = auth end
  return wrk.format("POST", paths[(counter % #paths) + 1], headers, body)
end

done = function(summary, latency, requests)
  io.write(string.format("BENCH %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(95), latency:percentile(50), summary.errors.status))
end
