-- POST /v1/authorize with one JSON body, built once per thread (no per-request Lua work
-- beyond counting): `wrk ... -s authorize.lua <url>/v1/authorize -- <maxResponses> <subject>`.
-- Stops the thread after maxResponses responses: a hard bound on the request count.
local max = math.huge
local n = 0

function init(args)
  max = tonumber(args[1]) or math.huge
  local subject = args[2] or "tpp-bench"
  wrk.method = "POST"
  wrk.headers["content-type"] = "application/json"
  -- The sidecar's authorize credential (loadtest/src/servers/sidecar.ts); the bare baseline ignores it.
  wrk.headers["tollgate-authorize-token"] = "bench-authorize-token"
  wrk.body = '{"subject":"' .. subject .. '","method":"GET","path":"/accounts"}'
end

function response()
  n = n + 1
  if n >= max then wrk.thread:stop() end
end
