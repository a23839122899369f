package trace

import (
	"strings"
	"testing"
)

// A console with terminal sequences, bare carriage returns and app output
// glued after a whole result: no call is dropped, --strict included, and
// the error results stay errors (ESC ( B used to lose every one of them).
func TestConsoleHostileSequences(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		call, ret  string
		status     Status
		output     string
	}{
		{"charset ESC ( B before the call", "\x1b(Bopenat(AT_FDCWD, \"/x\", O_RDONLY) = No such file or directory (-2)", "openat", "No such file or directory (-2)", StatusError, ""},
		{"OSC title ended by BEL", "\x1b]0;pwned\x07getpid() = 1", "getpid", "1", StatusOK, ""},
		{"OSC title ended by ESC \\", "\x1b]2;t\x1b\\getpid() = 1", "getpid", "1", StatusOK, ""},
		{"colour around the call", "\x1b[1;31mgetpid() = 1\x1b[0m", "getpid", "1", StatusOK, ""},
		{"bare CR between output and the call", "progress 50%\rgetppid() = 0", "getppid", "0", StatusOK, "progress 50%"},
		{"CRLF", "getpid() = 1\r", "getpid", "1", StatusOK, ""},
		{"app output glued after the result", "write(fd:1, \"hi\", 2) = 2hello world", "write", "2", StatusOK, "hello world"},
		{"output after an error result", "mkdir(\"/a\", 0755) = File exists (-17) and more", "mkdir", "File exists (-17)", StatusError, " and more"},
	} {
		var warned []string
		r, err := NewReader(strings.NewReader(tc.line+"\n"), "console", 0, Options{Format: FormatUnikraft, Strict: true,
			Warn: func(se *SyntaxError) { warned = append(warned, se.Error()) }})
		if err != nil {
			t.Fatal(err)
		}
		var calls []Event
		var outputs []string
		for r.Scan() {
			ev := r.Event()
			switch ev.Kind {
			case KindSyscall:
				calls = append(calls, *ev)
			case KindOutput:
				outputs = append(outputs, ev.Text)
			}
		}
		if err := r.Err(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(calls) != 1 || calls[0].Name != tc.call || calls[0].Ret != tc.ret || calls[0].Status != tc.status {
			t.Errorf("%s: calls %+v, want one %s = %s (%v)", tc.name, calls, tc.call, tc.ret, tc.status)
		}
		if tc.output != "" && (len(outputs) == 0 || !strings.Contains(strings.Join(outputs, "|"), tc.output)) {
			t.Errorf("%s: output %q, want %q kept", tc.name, outputs, tc.output)
		}
		if len(warned) > 0 {
			t.Errorf("%s: warned %q", tc.name, warned)
		}
	}
}
