package workload

import (
	"context"
	"testing"
	"time"
)

// The outputs of the load tools people use, read for the throughput.
func TestParseLoadOutput(t *testing.T) {
	for _, tt := range []struct {
		out      string
		ops      float64
		p50, p95 time.Duration
	}{
		{`"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"PING_INLINE","25316.46","0.128","0.040","0.119","0.199","0.271","2.735"
"PING_MBULK","25316.46","0.124","0.040","0.119","0.191","0.231","3.871"
`, 25316.46, 119 * time.Microsecond, 195 * time.Microsecond},
		{" PING_INLINE: rps=0.0 (overall: -nan)\r PING_INLINE: 31746.03 requests per second, p50=0.095 msec\n PING_MBULK: 37735.85 requests per second, p50=0.087 msec\n", 34740.94, 0, 0},
		{"Running 10s test @ http://127.0.0.1:8080\nRequests/sec:  12034.51\nTransfer/sec: 1.2MB\n", 12034.51, 0, 0},
		{"Requests per second:    4512.02 [#/sec] (mean)\n", 4512.02, 0, 0},
		{"nothing here\n", 0, 0, 0},
	} {
		var r LoadResult
		parseLoadOutput([]byte(tt.out), &r)
		if d := r.OpsPerSec - tt.ops; d > 0.01 || d < -0.01 || r.P50.Round(time.Microsecond) != tt.p50 || r.P95.Round(time.Microsecond) != tt.p95 {
			t.Errorf("%q: %.2f %v %v, want %.2f %v %v", tt.out[:20], r.OpsPerSec, r.P50, r.P95, tt.ops, tt.p50, tt.p95)
		}
	}
}

// A command that fails, or says nothing of its throughput, is an error of
// the load.
func TestCommandLoad(t *testing.T) {
	res, err := CommandLoad{Template: "echo '{clients} clients: 1200 requests per second on {port}'", Clients: 3, Port: 9, Timeout: 10 * time.Second}.Run(context.Background())
	if err != nil || res.OpsPerSec != 1200 || res.Errors != 0 || res.Clients != 3 {
		t.Errorf("%+v %v", res, err)
	}
	res, _ = CommandLoad{Template: "echo nothing", Clients: 1, Timeout: 10 * time.Second}.Run(context.Background())
	if res.Errors != 1 || res.FirstError == "" {
		t.Errorf("no throughput: %+v", res)
	}
	res, _ = CommandLoad{Template: "exit 3", Clients: 1, Timeout: 10 * time.Second}.Run(context.Background())
	if res.Errors == 0 {
		t.Errorf("a failing command: %+v", res)
	}
}
