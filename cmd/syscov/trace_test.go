package main

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/syscov/syscov/job"
)

// TestTraceExitCodes checks the documented mapping from the traced app's
// end to syscov's exit status.
func TestTraceExitCodes(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "t.trace")
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"success", []string{"trace", "-o", out, "--", "/bin/true"}, 0},
		{"exit status passes through", []string{"trace", "-o", out, "--", "/bin/sh", "-c", "exit 3"}, 3},
		{"killed by a signal is 128+N", []string{"trace", "-o", out, "--", "/bin/sh", "-c", "kill -SEGV $$"}, 139},
		{"timeout is 124", []string{"trace", "--timeout", "300ms", "-o", out, "--", "/bin/sleep", "10"}, 124},
		{"a failing workload is 1", []string{"trace", "--ready-delay", "100ms", "--workload", "exit 5", "-o", out, "--", "/bin/sleep", "10"}, 1},
		{"a workload that succeeds is 0 even though syscov stops the app", []string{"trace", "--ready-delay", "100ms", "--workload", "true", "-o", out, "--", "/bin/sleep", "10"}, 0},
		{"a command that does not exist is 1", []string{"trace", "-o", out, "--", "/nonexistent/x"}, 1},
		{"usage error is 2", []string{"trace", "--no-such-flag"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := run(tt.args, nil, &stdout, &stderr); got != tt.want {
				t.Errorf("exit %d, want %d; stderr:\n%s", got, tt.want, stderr.String())
			}
		})
	}
}

// TestDiffExitCodes: 4 when the unikernel lacks syscalls, 0 when not.
func TestDiffExitCodes(t *testing.T) {
	var out, errb bytes.Buffer
	if got := run([]string{"diff", "../../fixtures/strace/redis-bgsave.strace", "../../fixtures/unikraft/redis-elfloader-0.17.log"}, nil, &out, &errb); got != job.ExitLacks {
		t.Errorf("diff with missing syscalls: exit %d, want %d; %s", got, job.ExitLacks, errb.String())
	}
	if got := run([]string{"diff", "../../fixtures/strace/sysmix-f.strace", "../../fixtures/strace/sysmix-f.strace"}, nil, &out, &errb); got != 0 {
		t.Errorf("diff of a run with itself: exit %d; %s", got, errb.String())
	}
}
