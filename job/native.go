package job

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/native"
)

// RecordNative runs cfg and writes its trace to path ("-": stdout),
// flushed at least every 100 ms so that a crash loses little: the file is
// readable up to its last complete line.
//
// also, when set, sees every event too.
func RecordNative(ctx context.Context, cfg native.Config, path string, stdout io.Writer, also func(*trace.Event)) (*native.Result, error) {
	// syscov's notes go where the app's stderr goes: the terminal, or the
	// app's log in a catalog run.
	notes := os.Stderr
	if cfg.Stderr != nil {
		notes = cfg.Stderr
	}
	if b, why := native.Resolve(cfg.Backend, cfg.Stacks, cfg.StackSyscalls); b != cfg.Backend {
		fmt.Fprintf(notes, "syscov: --backend %s: %s\n", cfg.Backend, why)
		cfg.Backend = b
	} else if why != "" {
		fmt.Fprintf(notes, "syscov: --backend %s: %s\n", cfg.Backend, why)
	}
	var w io.Writer = stdout
	var file *os.File
	if path != "-" {
		var err error
		file, err = CreateNew(path)
		if err != nil {
			return nil, err
		}
		defer file.Close()
		w = file
	}
	hdr := native.Header(cfg, "syscov "+Version)
	tw, err := trace.NewWriter(w, hdr)
	if err != nil {
		return nil, err
	}
	pr := NewProgress(notes, "trace of "+cfg.Argv[0])
	// A trace that cannot be written (a full disk, a reader gone from
	// -o -) ends the run: the app is stopped, not traced into nothing;
	// the flusher notices it within 100 ms even while the app is quiet.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	tw.FlushEveryNotify(100*time.Millisecond, func(error) { stop() })
	cfg.OnEvent = func(ev *trace.Event) {
		if tw.Write(ev) != nil {
			stop()
		}
		if also != nil {
			also(ev)
		}
		pr.Tick(0)
	}
	if cfg.Notice == nil {
		cfg.Notice = func(msg string) { fmt.Fprintf(os.Stderr, "syscov: %s\n", msg) }
	}
	res, err := native.Run(ctx, cfg)
	pr.Done()
	if res != nil && hdr.LostEvents != nil {
		noteLost(tw, file, hdr, res, path)
	}
	writeErr := tw.Close()
	if writeErr != nil {
		where := path
		if path == "-" {
			where = "stdout"
		}
		return nil, fmt.Errorf("writing the trace to %s: %w (the app was stopped)", where, writeErr)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// noteLost reports the events the eBPF backend lost: on stderr when there
// are any, in a last event of the trace, and in the header of a trace file.
func noteLost(tw *trace.Writer, file *os.File, hdr trace.Header, res *native.Result, path string) {
	var total uint64
	for _, n := range res.Lost {
		total += n
	}
	hdr.LostEvents, hdr.LostPerCPU = &total, res.Lost
	if total > 0 {
		fmt.Fprintf(os.Stderr, "syscov: warning: the eBPF ring buffer had no room for %d events (per CPU: %v); the trace misses them (a larger --ring-buffer, or --filter, helps)\n", total, res.Lost)
		msg := trace.Event{Kind: trace.KindMessage, Time: time.Now().UnixNano(), Duration: -1, Level: "warning", Library: "syscov",
			Text: fmt.Sprintf("lost %d events (per CPU: %v)", total, res.Lost)}
		tw.Write(&msg)
	}
	if st, err := os.Stat(path); file != nil && err == nil && st.Mode().IsRegular() {
		if err := tw.Flush(); err == nil {
			if err := trace.RewriteHeader(file, hdr); err != nil {
				fmt.Fprintf(os.Stderr, "syscov: %s: %v\n", path, err)
			}
		}
	}
}
