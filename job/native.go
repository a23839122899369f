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
	var w io.Writer = stdout
	if path != "-" {
		file, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		defer file.Close()
		w = file
	}
	tw, err := trace.NewWriter(w, native.Header(cfg, "syscov "+Version))
	if err != nil {
		return nil, err
	}
	tw.FlushEvery(100 * time.Millisecond)
	pr := NewProgress(os.Stderr, "trace of "+cfg.Argv[0])
	// A trace that cannot be written (a full disk, a reader gone from
	// -o -) ends the run: the app is stopped, not traced into nothing.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	cfg.OnEvent = func(ev *trace.Event) {
		if tw.Write(ev) != nil {
			stop()
		}
		if also != nil {
			also(ev)
		}
		pr.Tick(0)
	}
	res, err := native.Run(ctx, cfg)
	pr.Done()
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
