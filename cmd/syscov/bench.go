package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/job"
	"github.com/syscov/syscov/report"
)

// runBench measures the app natively and in a Unikraft image side by
// side: size, boot time, memory, and throughput and latency by clients.
func runBench(e *env, args []string) error {
	fs := newFlagSet(e, "bench", "bench [--unikernel IMAGE --port HOST:GUEST ...] --ready tcp:PORT [--runs N] [--clients 1,10,60] [--duration D] [--proto redis|http | --load CMD] [--memory-bisect] [--out DIR] -- CMD ARGS")
	fs.SetInterspersed(false)
	var rdy readyFlags
	rdy.register(fs, 30*time.Second)
	runs := fs.Int("runs", 3, "runs of each side (6 or more for a 95 % interval of the median)")
	clients := fs.String("clients", "1,10", "client counts of the load, comma-separated")
	duration := fs.Duration("duration", 3*time.Second, "how long each load runs")
	proto := fs.String("proto", "redis", "syscov's load: redis (PING) or http (GET /)")
	loadCmd := fs.String("load", "", "the load: your command instead of syscov's, with {clients} and {port} replaced\n(e.g. 'redis-benchmark -p {port} -c {clients} -n 20000 -t ping --csv'); its output is read for ops/s")
	bisect := fs.Bool("memory-bisect", false, "unikernel: also find the smallest --memory that boots the app and serves one client")
	precision := fs.Int("memory-precision", 4, "unikernel: precision of --memory-bisect, in MiB")
	outDir := fs.String("out", "", "also write bench.{txt,md,json,html,benchfmt} into this directory")
	format := fs.String("format", "table", "output format: table, markdown, json, html or benchfmt")
	appArgs := fs.StringArray("app-arg", nil, "unikernel: the app's arguments, when they differ from CMD ARGS (repeatable)")
	var uf job.UnikernelOptions
	registerUnikernel(fs, &uf, "also run the app in this Unikraft image on qemu-system-x86_64 (with --port for its load)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	argv := fs.Args()
	if len(argv) == 0 {
		return job.Usagef("no command: syscov bench [FLAGS] -- CMD [ARGS]")
	}
	f, err := report.ParseFormat(*format)
	if err != nil {
		return &job.UsageError{Msg: err.Error()}
	}
	if err := report.Supports(f, report.BenchDoc{}); err != nil {
		return err
	}
	var counts []int
	for _, c := range strings.Split(*clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 || n > 10000 {
			return job.Usagef("--clients %q: want counts from 1 to 10000, comma-separated", *clients)
		}
		counts = append(counts, n)
	}
	if *runs < 1 || *runs > 1000 {
		return job.Usagef("--runs %d: want 1 to 1000", *runs)
	}
	if *duration <= 0 || *duration > 10*time.Minute {
		return job.Usagef("--duration %v: want up to 10m", *duration)
	}
	if *proto != "redis" && *proto != "http" {
		return job.Usagef("--proto %q: want redis or http", *proto)
	}
	ready, err := rdy.ready()
	if err != nil {
		return err
	}
	b := &job.Bench{Argv: argv, AppArgs: *appArgs, Unikernel: uf, Ready: ready, Runs: *runs, Clients: counts,
		Duration: *duration, Proto: *proto, LoadCmd: *loadCmd, MemoryBisect: *bisect, PrecisionMiB: *precision}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	write := func(rep *analyze.BenchReport) error {
		doc := report.BenchDoc{Report: rep}
		for ext, rf := range map[string]report.Format{"txt": report.FormatTable, "md": report.FormatMarkdown, "json": report.FormatJSON, "html": report.FormatHTML, "benchfmt": report.FormatBenchfmt} {
			var buf bytes.Buffer
			if err := report.Render(&buf, rf, doc); err != nil {
				return err
			}
			if err := job.WriteReport(filepath.Join(*outDir, "bench."+ext), buf.Bytes()); err != nil {
				return err
			}
		}
		return nil
	}
	if *outDir != "" {
		// One writer per --out; the reports are written as the runs
		// finish, so that an interrupt or a crash keeps what was measured.
		unlock, err := job.LockDir(*outDir)
		if err != nil {
			return err
		}
		defer unlock()
		b.Progress = func(rep *analyze.BenchReport) {
			if err := write(rep); err != nil {
				fmt.Fprintf(e.stderr, "syscov: %v\n", err)
			}
		}
	}
	rep, err := b.Run(ctx, e.output())
	if rep == nil {
		return err
	}
	if *outDir != "" {
		if werr := write(rep); werr != nil && err == nil {
			err = werr
		}
	}
	if rerr := report.Render(e.stdout, f, report.BenchDoc{Report: rep}); err == nil {
		err = rerr
	}
	return err
}
