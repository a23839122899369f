package job

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/syscov/syscov/internal/testdisk"
)

// On a full disk a report is written whole or not at all: the old file
// stays, no cut file and no temporary file is left.
func TestWriteFileFullDisk(t *testing.T) {
	dir := testdisk.Small(t)
	path := filepath.Join(dir, "report.html")
	if err := WriteFile(path, []byte("old report\n")); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(path, bytes.Repeat([]byte("x"), 64<<10))
	if err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("err = %v, want no space left", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old report\n" {
		t.Errorf("the old report became %d bytes", len(got))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left: %v", entries)
	}

}

// A symlink planted where syscov creates a trace is never followed.
func TestCreateNewDoesNotFollowSymlinks(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("keep"), 0o644)
	link := filepath.Join(dir, "t.trace.partial")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	if f, err := CreateNew(link); err == nil {
		f.Close()
		t.Fatal("created through a symlink")
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("the symlink's target was written: %q", b)
	}
}

// The rerun line is the command, byte for byte: bash reads every quoted
// argument back as it was (backticks, $, quotes, control characters,
// bytes that are not UTF-8), and the quoted text has no raw control
// character, no invalid UTF-8 and no U+FFFD.
func TestShellQuoteRoundTrip(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	args := []string{
		"plain", "", "a b", "it's", "`;touch /tmp/PWNED;`", "$(id)", "${HOME}", "$'x'", `back\slash`,
		"semi;colon", "pipe|", "glob*?[a]", "~user", "#comment", "!hist", "new\nline", "tab\there", "cr\rx",
		"\x1b]0;title\x07", "\x1b[2J", "\xff\xfe", "caf\xc3\xa9", "bidi\u202eevil", "sep\u2028x", "del\x7f",
		"\u009bc1", "'", "''", "\\'", "-n", "a=b", "日本語",
	}
	line := ShellJoin(args)
	for i := 0; i < len(line); i++ {
		if c := line[i]; c < 0x20 || c == 0x7f {
			t.Fatalf("raw control byte %#x in %q", c, line)
		}
	}
	if !utf8.ValidString(line) || strings.ContainsRune(line, utf8.RuneError) {
		t.Fatalf("not clean UTF-8: %q", line)
	}
	out, err := exec.Command(bash, "-c", "set -- x "+line+`; for a in "$@"; do printf '%s\0' "$a"; done`).Output()
	if err != nil {
		t.Fatalf("bash: %v on %s", err, line)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if len(got) != len(args)+1 {
		t.Fatalf("bash read %d arguments, want %d: %q", len(got)-1, len(args), got)
	}
	for i, a := range args {
		if got[i+1] != a {
			t.Errorf("argument %d: bash read %q, want %q (quoted %s)", i, got[i+1], a, ShellQuote(a))
		}
	}
	if q := ShellQuote("`;touch /tmp/PWNED;`"); q != "'`;touch /tmp/PWNED;`'" {
		t.Errorf("backtick: %s", q)
	}
	if q := ShellQuote("\xff"); q != `$'\xff'` {
		t.Errorf("0xff: %s", q)
	}
}
