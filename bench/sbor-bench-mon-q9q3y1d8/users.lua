
done = function(summary, latency, requests)
  io.write(string.format("SBOR %d %d %d %d %d %d\n", summary.requests, summary.bytes,
    summary.duration, latency:percentile(50), latency:percentile(95), summary.errors.status))
end
delay = function() return 1000 end
