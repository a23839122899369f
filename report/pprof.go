package report

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/google/pprof/profile"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/trace"
)

// ProfileBuilder turns syscall events into a pprof profile: each distinct
// stack is a sample with the values calls and time (ns); the stack is the
// native frames recorded with --stacks, the syscall the leaf and the
// process the root; without stacks it is process → class → syscall. The
// labels syscall, errno, class, status (supported, stubbed, partial,
// missing) and impact (blocks, degrades, noise) let `go tool pprof
// -tagfocus=status=missing` answer which code paths need the missing
// syscalls. Status and impact are the judge's, as in the coverage report:
// the caller gives them per app and use when the profile is made. The
// profile is plain github.com/google/pprof/profile structs, checked with
// CheckValid.
type ProfileBuilder struct {
	p       *profile.Profile
	funcs   map[string]*profile.Function
	locs    map[string]*profile.Location
	samples map[string]*profile.Sample
	// use says which app and use (the judge's key) each sample is of.
	use   map[*profile.Sample]sampleUse
	comms map[int]string
}

type sampleUse struct {
	app int
	key string
}

// NewProfileBuilder starts a profile.
func NewProfileBuilder() *ProfileBuilder {
	return &ProfileBuilder{
		use: map[*profile.Sample]sampleUse{},
		p: &profile.Profile{
			SampleType: []*profile.ValueType{{Type: "calls", Unit: "count"}, {Type: "time", Unit: "nanoseconds"}},
			PeriodType: &profile.ValueType{Type: "calls", Unit: "count"},
			Period:     1,
		},
		funcs: map[string]*profile.Function{}, locs: map[string]*profile.Location{},
		samples: map[string]*profile.Sample{}, comms: map[int]string{},
	}
}

// location is a place in the code: a function in a file, at a line when
// the trace knows it (DWARF).
func (b *ProfileBuilder) location(name, file string, line int) *profile.Location {
	fkey := name + "\x00" + file
	key := fkey + "\x00" + fmt.Sprint(line)
	if l, ok := b.locs[key]; ok {
		return l
	}
	f, ok := b.funcs[fkey]
	if !ok {
		f = &profile.Function{ID: uint64(len(b.funcs) + 1), Name: name, SystemName: name, Filename: file}
		b.funcs[fkey] = f
		b.p.Function = append(b.p.Function, f)
	}
	l := &profile.Location{ID: uint64(len(b.locs) + 1), Line: []profile.Line{{Function: f, Line: int64(line)}}}
	b.locs[key] = l
	b.p.Location = append(b.p.Location, l)
	return l
}

// Add counts one event (syscalls only) of app number app, whose use the
// judge keys as key ("clone (fork)").
func (b *ProfileBuilder) Add(ev *trace.Event, app int, key string) {
	if ev.Comm != "" {
		b.comms[ev.PID] = ev.Comm
	}
	if ev.Kind != trace.KindSyscall {
		return
	}
	class := analyze.Class(ev)
	// Leaf first: the syscall, the recorded frames, then the process.
	var stack []*profile.Location
	stack = append(stack, b.location("syscall "+ev.Name, "", 0))
	if len(ev.Stack) > 0 {
		for _, f := range ev.Stack {
			name := f.Func
			if name == "" {
				name = fmt.Sprintf("%s+0x%x", filepath.Base(f.Object), f.Addr)
			}
			file := f.Object
			if f.File != "" {
				file = f.File
			}
			stack = append(stack, b.location(name, file, f.Line))
		}
	} else {
		stack = append(stack, b.location("["+class+"]", "", 0))
	}
	proc := fmt.Sprintf("process %d", ev.PID)
	if c := b.comms[ev.PID]; c != "" {
		proc += " (" + c + ")"
	}
	stack = append(stack, b.location(proc, "", 0))
	var ids []string
	for _, l := range stack {
		ids = append(ids, fmt.Sprint(l.ID))
	}
	skey := fmt.Sprint(app) + "|" + key + "|" + strings.Join(ids, ",") + "|" + ev.Errno + "|" + class
	s, ok := b.samples[skey]
	if !ok {
		s = &profile.Sample{Location: stack, Value: []int64{0, 0}, Label: map[string][]string{"syscall": {ev.Name}, "class": {class}}}
		if ev.Errno != "" {
			s.Label["errno"] = []string{ev.Errno}
		}
		b.samples[skey] = s
		b.use[s] = sampleUse{app, key}
		b.p.Sample = append(b.p.Sample, s)
	}
	s.Value[0]++
	if ev.Duration > 0 {
		s.Value[1] += int64(ev.Duration)
	}
}

// Profile returns the checked profile; with value "time", time is the
// default sample type. judged (nil: no status labels) gives the coverage
// of each app, whose judgement labels the samples.
func (b *ProfileBuilder) Profile(value string, judged []*analyze.AppCoverage) (*profile.Profile, error) {
	if judged != nil {
		uses := map[sampleUse]*analyze.UsedSyscall{}
		for i, a := range judged {
			for _, u := range a.Used {
				uses[sampleUse{i, u.Key}] = u
			}
		}
		for s, su := range b.use {
			u := uses[su]
			if u == nil {
				continue
			}
			status := string(u.Level)
			if u.Level == analyze.Implemented {
				status = "supported"
			}
			s.Label["status"] = []string{status}
			if u.Impact != "" {
				s.Label["impact"] = []string{string(u.Impact)}
			}
		}
	}
	if value == "time" {
		b.p.DefaultSampleType = "time"
	} else {
		b.p.DefaultSampleType = "calls"
	}
	if err := b.p.CheckValid(); err != nil {
		return nil, err
	}
	return b.p, nil
}

// WriteProfile writes a gzipped protobuf profile.
func WriteProfile(w io.Writer, p *profile.Profile) error { return p.Write(w) }
