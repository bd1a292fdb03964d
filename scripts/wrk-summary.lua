-- bench-http's wrk script: when the run is done, its figures as one JSON line at the end of
-- stdout, so that nothing has to read wrk's text report. Times are in microseconds (wrk's own
-- unit); errors.status counts the responses that were not 2xx or 3xx. %.0f, not %d: LuaJIT's
-- numbers are doubles.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\n{"duration_us":%.0f,"requests":%.0f,"p99_us":%.0f,"non2xx":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,"timeout":%.0f}\n',
    summary.duration, summary.requests, latency:percentile(99), e.status, e.connect, e.read, e.write, e.timeout))
end
