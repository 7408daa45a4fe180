-- wrk's report for bench/api.sh: after wrk's own output, one line with
-- the responses, the run's length in microseconds and the errors (socket
-- errors and non-2xx/3xx answers), then the latency histogram, one line
-- per distinct latency in microseconds with its count. bench/api.sh adds
-- the runs of a round up: req/s over their total time, and p50 and p99 of
-- all their answers together.
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("report %d %d %d\n", summary.requests,
	    summary.duration,
	    e.connect + e.read + e.write + e.status + e.timeout))
	for i = 1, #latency do
		local us, count = latency(i)
		io.write(string.format("latency %d %d\n", us, count))
	end
end
