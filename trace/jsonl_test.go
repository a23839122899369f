package trace

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// roundTrip writes evs as a syscov trace file and reads them back.
func roundTrip(t testing.TB, hdr Header, evs []Event) (Header, []Event) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, hdr)
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		if err := w.Write(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(&buf, "rt", 0, Options{Strict: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	var out []Event
	for r.Scan() {
		out = append(out, r.Event().Clone())
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return r.Header(), out
}

// comparable clears what a round trip is allowed to change: positions
// (they name the file read) and the origin/arch defaults.
func comparable(evs []Event) []Event {
	out := make([]Event, len(evs))
	for i, ev := range evs {
		ev.Pos = Pos{}
		if len(ev.Stack) == 0 {
			ev.Stack = nil
		}
		out[i] = ev
	}
	return out
}

func TestJSONLRoundTripFixtures(t *testing.T) {
	files, _ := filepath.Glob("../fixtures/strace/*.strace")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			evs, warns := readFile(t, f)
			if len(warns) > 0 {
				t.Fatalf("warnings: %v", warns)
			}
			hdr := Header{Origin: "native", Arch: ArchX86_64, Command: []string{"redis-server", "--port", "6390"}, Tool: "syscov test"}
			gotHdr, got := roundTrip(t, hdr, evs)
			if gotHdr.Version != FormatVersion || !reflect.DeepEqual(gotHdr.Command, hdr.Command) || gotHdr.Arch != ArchX86_64 {
				t.Errorf("header %+v", gotHdr)
			}
			a, b := comparable(evs), comparable(got)
			if len(a) != len(b) {
				t.Fatalf("%d events in, %d out", len(a), len(b))
			}
			for i := range a {
				if !reflect.DeepEqual(a[i], b[i]) {
					t.Fatalf("event %d differs:\n in %+v\nout %+v", i, a[i], b[i])
				}
			}
		})
	}
}

func TestJSONLSniffAndErrors(t *testing.T) {
	in := `{"syscov_trace":1,"origin":"unikernel","arch":"x86_64"}
{"kind":"syscall","pid":1,"name":"openat","nr":257,"ret":"-2","retval":-2,"errno":"ENOENT","status":"error"}
{"kind":"syscall","pid":1,"nr":39}
not json
{"kind":"bogus"}
{"kind":"syscall","pid":1,"name":"read","status":"weird"}
{"kind":"exit","pid":1,"code":3}
`
	var warns []string
	r, err := NewReader(strings.NewReader(in), "t.jsonl", 0, Options{Warn: func(se *SyntaxError) { warns = append(warns, se.Error()) }})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for r.Scan() {
		got = append(got, brief(*r.Event())+" origin="+r.Event().Origin.String())
	}
	want := []string{
		"syscall pid=1 openat() ret=-2 status=error errno=ENOENT nr=257 @2 origin=unikernel",
		"syscall pid=1 getpid() ret= status=ok nr=39 @3 origin=unikernel",
		"exit pid=1 code=3 @7 origin=unikernel",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(warns) != 3 || !strings.HasPrefix(warns[0], "t.jsonl:4: malformed event") || warns[1] != `t.jsonl:5: unknown event kind "bogus"` || warns[2] != `t.jsonl:6: unknown status "weird"` {
		t.Errorf("warnings %q", warns)
	}
}

func TestJSONLBadHeader(t *testing.T) {
	_, err := NewReader(strings.NewReader(`{"syscov_trace":99}`+"\n"), "new.jsonl", 0, Options{})
	if err == nil || err.Error() != "new.jsonl:1: trace format version 99, this syscov reads up to 1" {
		t.Errorf("err = %v", err)
	}
}
