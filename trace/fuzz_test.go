package trace

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func addFixtureSeeds(f *testing.F, glob string) {
	files, _ := filepath.Glob(glob)
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		// Seed with slices of the real recordings: short inputs let the
		// fuzzer mutate every line form.
		lines := bytes.SplitAfter(data, []byte("\n"))
		for i := 0; i < len(lines); i += 40 {
			end := min(i+40, len(lines))
			f.Add(bytes.Join(lines[i:end], nil))
		}
	}
}

// FuzzStraceReader: the strace reader never panics, every event and every
// warning has a position ≥ 1, and what it reads survives a round trip
// through the syscov trace format.
func FuzzStraceReader(f *testing.F) {
	addFixtureSeeds(f, "../fixtures/strace/*.strace")
	addFixtureSeeds(f, "../fixtures/strace/*-ff/*")
	for _, form := range straceLineForms {
		f.Add([]byte(form.in))
	}
	f.Add([]byte("1 read(3, <unfinished ...>\n2 <... read resumed>\"x\", 1) = 1\n"))
	f.Add([]byte("[pid 1] --- SIGSEGV {si_signo=SIGSEGV} ---\n[pid 1] +++ killed by SIGSEGV (core dumped) +++\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var warns []*SyntaxError
		r, err := NewReader(bytes.NewReader(data), "fuzz", 0, Options{Format: FormatStrace, Arch: ArchX86_64, Warn: func(se *SyntaxError) { warns = append(warns, se) }})
		if err != nil {
			t.Fatal(err)
		}
		var evs []Event
		for r.Scan() {
			ev := r.Event()
			if ev.Pos.Line < 1 {
				t.Fatalf("event at line %d: %+v", ev.Pos.Line, ev)
			}
			if ev.Kind == KindSyscall && ev.Name == "" {
				t.Fatalf("syscall without name: %+v", ev)
			}
			evs = append(evs, ev.Clone())
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		for _, w := range warns {
			if w.Pos.Line < 1 {
				t.Fatalf("warning at line %d", w.Pos.Line)
			}
		}
		if st := r.Stats(); st.Events != len(evs) || st.Skipped != len(warns) {
			t.Fatalf("stats %+v, %d events, %d warnings", st, len(evs), len(warns))
		}
		_, back := roundTrip(t, Header{Origin: "native", Arch: ArchX86_64}, evs)
		a, b := comparable(evs), comparable(back)
		if len(a) != len(b) {
			t.Fatalf("round trip: %d events in, %d out", len(a), len(b))
		}
		for i := range a {
			// Trace files are UTF-8: invalid bytes become U+FFFD.
			if validUTF8(a[i].Name) != b[i].Name || validUTF8(a[i].Args) != b[i].Args || a[i].Status != b[i].Status || a[i].Errno != b[i].Errno || a[i].Kind != b[i].Kind {
				t.Fatalf("round trip changed event %d:\n in %+v\nout %+v", i, a[i], b[i])
			}
		}
	})
}

// FuzzJSONLReader: the trace file reader never panics, reports malformed
// lines with positions, and what it accepts writes back to the same events.
func FuzzJSONLReader(f *testing.F) {
	f.Add([]byte(`{"syscov_trace":1,"origin":"native","arch":"x86_64"}` + "\n" + `{"kind":"syscall","pid":1,"name":"read","nr":0,"args":"3, \"x\", 1","ret":"1","retval":1,"status":"ok","dur":1200}` + "\n"))
	f.Add([]byte(`{"syscov_trace":1}` + "\n" + `{"kind":"exit","pid":2,"code":1}` + "\n" + `{"kind":"signal","pid":2,"signal":"SIGCHLD"}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), "fuzz", 0, Options{Format: FormatJSONL, Warn: func(se *SyntaxError) {
			if se.Pos.Line < 2 {
				t.Fatalf("warning at line %d", se.Pos.Line)
			}
		}})
		if err != nil {
			return // a bad header is an error, reported once
		}
		var evs []Event
		for r.Scan() {
			if r.Event().Pos.Line < 2 {
				t.Fatalf("event at line %d", r.Event().Pos.Line)
			}
			evs = append(evs, r.Event().Clone())
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		_, back := roundTrip(t, r.Header(), evs)
		if !equalEvents(comparable(evs), comparable(back)) {
			t.Fatalf("round trip changed events")
		}
	})
}

func validUTF8(s string) string { return string([]rune(s)) } // each invalid byte becomes U+FFFD, as in encoding/json

func equalEvents(a, b []Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Kind != y.Kind || x.Name != y.Name || x.Args != y.Args || x.PID != y.PID || x.Status != y.Status || x.Errno != y.Errno || x.Text != y.Text {
			return false
		}
	}
	return true
}
