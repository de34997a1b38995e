-- Plain requests (method, path and headers come from the wrk command line), with a hard
-- bound on the number of responses per thread: `wrk ... -s get.lua <url> -- <maxResponses>`.
-- A run that reaches the bound stops early and is reported as capped.
local max = math.huge
local n = 0

function init(args)
  max = tonumber(args[1]) or math.huge
end

function response()
  n = n + 1
  if n >= max then wrk.thread:stop() end
end
