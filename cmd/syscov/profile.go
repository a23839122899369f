package main

import (
	"bytes"
	"fmt"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/job"
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
	var configPath string
	registerConfig(fs, &configPath)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return job.Usagef("no input")
	}
	if *value != "calls" && *value != "time" {
		return job.Usagef("--value %q: want calls or time", *value)
	}
	opts, err := in.options(e)
	if err != nil {
		return err
	}
	var judged []*analyze.AppCoverage
	b := report.NewProfileBuilder()
	events := 0
	ins, err := job.OpenInputs(fs.Args(), opts)
	if err != nil {
		return err
	}
	defer job.CloseInputs(ins)
	var j job.Judgement
	if *against != "none" {
		if j.Table, err = job.LoadSupportTable(*against); err != nil {
			return err
		}
	} else if j.Table, err = analyze.EmbeddedTable("unikraft"); err != nil {
		return err
	}
	if j.Config, err = job.LoadConfig(configPath); err != nil {
		return err
	}
	judge := j.Judge()
	// One pass over each input: the profile and the coverage that judges
	// its samples.
	refine := analyze.NewRefinement()
	var builders []*analyze.CoverageBuilder
	for i, in := range ins {
		hdr := in.R.Header()
		arch := hdr.Arch
		if arch == "" {
			arch = trace.ArchX86_64
		}
		cb := analyze.NewCoverageBuilder(analyze.AppName(hdr, in.Name), in.Name, hdr, judge, nil)
		err := in.Scan(cb.Add, refine.Add, func(ev *trace.Event) {
			events++
			key := ev.Name
			if ev.Kind == trace.KindSyscall {
				key, _, _ = judge.Support(arch, ev)
			}
			b.Add(ev, i, key)
		})
		if err != nil {
			return err
		}
		builders = append(builders, cb)
	}
	if *against != "none" {
		for _, cb := range builders {
			judged = append(judged, cb.Coverage(refine))
		}
	}
	p, err := b.Profile(*value, judged)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := report.WriteProfile(&buf, p); err != nil {
		return err
	}
	if err := job.WriteFile(*out, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "syscov: %d samples from %d events in %s; open it with: go tool pprof -top %s\n", len(p.Sample), events, *out, *out)
	return nil
}
