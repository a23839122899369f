package analyze

import (
	"strings"
	"testing"

	"github.com/syscov/syscov/trace"
)

// Paths with a quote, a newline or an ESC (strace writes them \", \n,
// \33) are found as what they are, not dropped or cut at the quote.
func TestFileUsesEscapedPaths(t *testing.T) {
	f := NewFileUses()
	for _, args := range []string{
		`AT_FDCWD, "/tmp/say \"hi\".txt", O_RDONLY`,
		`AT_FDCWD, "/tmp/new\nline", O_RDONLY`,
		`AT_FDCWD, "/tmp/esc\33]0;t\7", O_RDONLY`,
		`AT_FDCWD, "/tmp/hex\x41\\", O_RDONLY`,
		`AT_FDCWD, "/tmp/plain", O_RDONLY`,
		`AT_FDCWD, "/tmp/cut"..., O_RDONLY`,
	} {
		f.Add(&trace.Event{Kind: trace.KindSyscall, PID: 1, Name: "openat", Args: args, Status: trace.StatusOK})
	}
	got := map[string]bool{}
	for _, u := range f.Found() {
		got[u.Path] = true
	}
	for _, want := range []string{`/tmp/say "hi".txt`, "/tmp/new\nline", "/tmp/esc\x1b]0;t\x07", `/tmp/hexA\`, "/tmp/plain"} {
		if !got[want] {
			t.Errorf("%q not found; found %v", want, got)
		}
	}
	if got["/tmp/cut"] {
		t.Error("a path the tracer cut was taken whole")
	}
}

func TestFirstQuoted(t *testing.T) {
	for in, want := range map[string]string{
		`"/bin/sh", ["sh"]`:  "/bin/sh",
		`3, "a\"b", 4`:       `a"b`,
		`"\0\1\177"`:         "\x00\x01\x7f",
		`"unterminated`:      "unterminated",
		`"back\\slash" rest`: `back\slash`,
		`"\xff\xfe"`:         "\xff\xfe",
	} {
		if got, ok := firstQuoted(in); !ok || got != want {
			t.Errorf("firstQuoted(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// firstQuoted never panics, and text without escapes is taken as it is.
func FuzzFirstQuoted(f *testing.F) {
	for _, s := range []string{`AT_FDCWD, "/etc/hosts", O_RDONLY`, `"a\"b"`, `"\x4`, `"\`, `"\777\xzz"`, `3, "x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := firstQuoted(s)
		if !ok || strings.Contains(s, `\`) {
			return
		}
		i := strings.IndexByte(s, '"')
		want := s[i+1:]
		if j := strings.IndexByte(want, '"'); j >= 0 {
			want = want[:j]
		}
		if v != want {
			t.Fatalf("firstQuoted(%q) = %q, want %q", s, v, want)
		}
	})
}
