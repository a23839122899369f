package main

import (
	"fmt"
	"os"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/report"
	"github.com/syscov/syscov/trace"
)

func runProfile(e *env, args []string) error {
	fs := newFlagSet(e, "profile", "profile INPUT... -o FILE.pb.gz [--value calls|time] [--against unikraft|FILE|none]")
	var in inputFlags
	in.register(fs)
	out := fs.StringP("output", "o", "syscov.pb.gz", "the profile to write (gzipped protobuf, for go tool pprof)")
	value := fs.String("value", "calls", "default sample value: calls or time")
	against := fs.String("against", "unikraft", "support table for the status label: unikraft[@V], a file, or none")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("no input")
	}
	if *value != "calls" && *value != "time" {
		return usagef("--value %q: want calls or time", *value)
	}
	opts, err := in.options(e)
	if err != nil {
		return err
	}
	var table *analyze.SupportTable
	if *against != "none" {
		if table, err = loadSupportTable(*against); err != nil {
			return err
		}
	}
	b := report.NewProfileBuilder(table)
	events := 0
	err = eachTrace(fs.Args(), opts, func(name string, r trace.Reader) error {
		for r.Scan() {
			b.Add(r.Event())
			events++
		}
		return r.Err()
	})
	if err != nil {
		return err
	}
	p, err := b.Profile(*value)
	if err != nil {
		return err
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := report.WriteProfile(f, p); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "syscov: %d samples from %d events in %s; open it with: go tool pprof -top %s\n", len(p.Sample), events, *out, *out)
	return nil
}
