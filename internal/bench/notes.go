package bench

import "fmt"

// notes say how each scenario's figures are measured.
func notes(cfg Config) []string {
	common := []string{
		fmt.Sprintf("server CPU is utime+stime of /proc/PID/stat (clock ticks of 1/%d s), RSS is VmRSS of /proc/PID/status; goroutines are go_goroutines of /metrics", ClockTicks),
		fmt.Sprintf("devices run the Go SDK in %d worker process(es) from %d source address(es); reconnect backoff capped at %s", cfg.Procs, cfg.SourceAddrs, cfg.MaxBackoff),
	}
	switch cfg.Scenario {
	case "idle":
		return append(common,
			"rss_per_conn_kb and goroutines_per_conn: server after connecting and settling minus before, per device",
			"handshakes_per_s: devices / (last handshake done - connect start), 64 connects in flight per worker; cpu_us_per_connect covers dispatch, handshake and initial sync",
			"devices_cpu_us_per_connect: CPU (utime+stime) of the worker processes over the same connects, per device: the devices' side of dial, handshake and initial sync, which shares the machine with the server; absent when the workers run in this process",
			"reconnects_per_conn: handshakes beyond one per device while connecting and settling (push_connector_handshakes_total); anything above 0 means sessions dropped and the figures include churn")
	case "unicast":
		return append(common,
			"latency: data.t (Unix ns, taken just before the REST call) to the SDK's OnPush in the device, on the shared machine clock",
			"reconnects_per_conn: handshakes during the sending, per device (push_connector_handshakes_total); above 0, some pushes met a device between sessions",
			fmt.Sprintf("cpu_us_per_push: server CPU from the first push to the last delivery, plus %s of settling after it, per accepted push", cfg.Settle),
			fmt.Sprintf("a rate is sustained when every push is accepted and delivered, the rate is met within 5%%, and p99 is under %s; p50/p99/p999 are those of the highest sustained rate (or of the lowest rate tried when none was)", p99Target))
	case "broadcast":
		return append(common,
			fmt.Sprintf("at most %d broadcasts in flight; delivered_per_s = messages received / (last receive - first send); cpu_us_per_msg = server CPU over the sending and draining / messages received", broadcastWindow))
	default:
		return append(common,
			"devices are held offline (their dials wait) while the server is SIGKILLed, restarted on the same port and data, and sent one push each; reconnect_s runs from letting them all dial at once until the last one has caught up (synced and received its push); retries_per_conn counts attempts (dispatch, dial or handshake) that failed and were retried after the SDK's backoff; dispatches_per_conn counts dispatcher requests (push_dispatcher_requests_total) from letting them dial until the end, per device: 0 when every device dialled its last connector again directly",
			fmt.Sprintf("store load is not measured directly: the peaks are per %s window of handshakes (each reads the device and its streams from the store), server CPU, and the server's storage writes (/proc/PID/io write_bytes, store and bus together)", sampleEvery))
	}
}
