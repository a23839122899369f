package workload

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// CommandLoad is a load the user's command makes (redis-benchmark, wrk,
// ab …): Template with {clients} and {port} replaced, run with a shell;
// its output is read for the throughput: redis-benchmark's --csv (rps and
// latency columns, the mean over its tests), "N requests per second"
// (redis-benchmark -q), "Requests per sec: N" (wrk) or "Requests per
// second: N" (ab).
type CommandLoad struct {
	Template string
	Clients  int
	Port     int
	// Timeout bounds the command (it stops by itself otherwise).
	Timeout time.Duration
	Dir     string
}

var (
	perSecondRE = regexp.MustCompile(`(?i)([0-9][0-9.]*) requests per second`)
	wrkRE       = regexp.MustCompile(`(?i)requests/sec(?:ond)?:\s*([0-9][0-9.]*)|requests per sec(?:ond)?:\s*([0-9][0-9.]*)`)
)

// Command is the command line of this load.
func (l CommandLoad) Command() string {
	r := strings.NewReplacer("{clients}", strconv.Itoa(l.Clients), "{port}", strconv.Itoa(l.Port))
	return r.Replace(l.Template)
}

// Run runs the command and reads its throughput.
func (l CommandLoad) Run(ctx context.Context) (LoadResult, error) {
	res := LoadResult{Clients: l.Clients}
	if l.Timeout <= 0 || l.Timeout > time.Hour {
		return res, fmt.Errorf("load command: timeout %v: want up to an hour", l.Timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, l.Timeout)
	defer cancel()
	out, err := os.CreateTemp("", "syscov-load-")
	if err != nil {
		return res, err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	start := time.Now()
	runErr := Run(ctx, l.Command(), l.Dir, out, out)
	res.Elapsed = time.Since(start)
	data, err := os.ReadFile(out.Name())
	if err != nil {
		return res, err
	}
	parseLoadOutput(data, &res)
	if runErr != nil {
		res.Errors++
		res.FirstError = fmt.Sprintf("%s: %v", l.Command(), runErr)
	}
	if res.OpsPerSec == 0 && res.Errors == 0 {
		res.Errors++
		res.FirstError = l.Command() + ": no throughput in its output (want redis-benchmark --csv, 'N requests per second' or 'Requests/sec: N')"
	}
	return res, nil
}

// parseLoadOutput reads a load tool's output into res: ops/s, p50, p95.
func parseLoadOutput(data []byte, res *LoadResult) {
	text := string(bytes.ReplaceAll(data, []byte("\r"), []byte("\n")))
	if strings.Contains(text, `"test","rps"`) {
		r := csv.NewReader(strings.NewReader(text[strings.Index(text, `"test","rps"`):]))
		r.FieldsPerRecord = -1
		recs, _ := r.ReadAll()
		if len(recs) > 1 {
			col := map[string]int{}
			for i, h := range recs[0] {
				col[h] = i
			}
			var rps, p50, p95 float64
			n := 0
			for _, rec := range recs[1:] {
				get := func(name string) float64 {
					if i, ok := col[name]; ok && i < len(rec) {
						v, _ := strconv.ParseFloat(rec[i], 64)
						return v
					}
					return 0
				}
				if v := get("rps"); v > 0 {
					rps, p50, p95, n = rps+v, p50+get("p50_latency_ms"), p95+get("p95_latency_ms"), n+1
				}
			}
			if n > 0 {
				res.OpsPerSec = rps / float64(n)
				res.P50 = time.Duration(p50 / float64(n) * float64(time.Millisecond))
				res.P95 = time.Duration(p95 / float64(n) * float64(time.Millisecond))
				return
			}
		}
	}
	var sum float64
	n := 0
	for _, m := range perSecondRE.FindAllStringSubmatch(text, -1) {
		if v, err := strconv.ParseFloat(m[1], 64); err == nil && v > 0 {
			sum, n = sum+v, n+1
		}
	}
	if n == 0 {
		for _, m := range wrkRE.FindAllStringSubmatch(text, -1) {
			s := m[1] + m[2]
			if v, err := strconv.ParseFloat(s, 64); err == nil && v > 0 {
				sum, n = sum+v, n+1
			}
		}
	}
	if n > 0 {
		res.OpsPerSec = sum / float64(n)
	}
}
