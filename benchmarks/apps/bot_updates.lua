-- wrk: POST a distinct Telegram update per request (update_id = base + thread * 1e7 + n), each to a chat of
-- its own modulo 20,000 so the bot's 20-a-minute limit never applies; prints what p95.lua prints.
local threads, counter = {}, 0

setup = function(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

init = function(args)
  base = tonumber(args[1]) or 0
  secret = args[2] or ""
end

request = function()
  counter = counter + 1
  local id = base + tid * 10000000 + counter
  local body = string.format(
    '{"update_id": %d, "message": {"message_id": 1, "chat": {"id": %d}, "text": "/recall k"}}', id, 1000000 + id % 20000)
  return wrk.format("POST", "/webhook/telegram",
    {["content-type"] = "application/json", ["x-telegram-bot-api-secret-token"] = secret}, body)
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT %f %f %f %d %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
