package analyze

import (
	"testing"
	"time"

	"github.com/syscov/syscov/trace"
)

func TestSummaryBuilder(t *testing.T) {
	evs := []trace.Event{
		{Kind: trace.KindSyscall, PID: 1, Name: "openat", Status: trace.StatusOK, Duration: 10 * time.Microsecond},
		{Kind: trace.KindSyscall, PID: 1, Name: "openat", Status: trace.StatusError, Errno: "ENOENT", Duration: 30 * time.Microsecond},
		{Kind: trace.KindSyscall, PID: 2, Name: "read", Status: trace.StatusError, Errno: "ERESTARTSYS", Duration: -1},
		{Kind: trace.KindSyscall, PID: 2, Name: "exit_group", Status: trace.StatusUnfinished, Duration: -1},
		{Kind: trace.KindSignal, PID: 2, Signal: "SIGCHLD"},
		{Kind: trace.KindExit, PID: 2, ExitCode: 0, Text: "exited with 0"},
		{Kind: trace.KindExit, PID: 1, Signal: "SIGKILL", ExitCode: 137, Text: "killed by SIGKILL"},
	}
	b := NewSummaryBuilder(true)
	for i := range evs {
		b.Add(&evs[i])
	}
	s := b.Summary("t")
	if s.Calls != 3 || s.Errors != 2 || !s.HasTime || s.Time != 40*time.Microsecond || s.Events != 7 {
		t.Fatalf("totals: %+v", s)
	}
	if s.Syscalls[0].Name != "openat" || s.Syscalls[0].Calls != 2 || s.Syscalls[0].Errnos["ENOENT"] != 1 || s.Syscalls[0].UsecsPerCall() != 20 {
		t.Errorf("openat: %+v", s.Syscalls[0])
	}
	var exit *SyscallStat
	for _, st := range s.Syscalls {
		if st.Name == "exit_group" {
			exit = st
		}
	}
	if exit == nil || exit.Calls != 0 || exit.NoReturn != 1 {
		t.Errorf("exit_group: %+v (strace -c counts no call that never returned)", exit)
	}
	if len(s.Processes) != 2 || s.Processes[0].PID != 1 || s.Processes[0].Exit != "killed by SIGKILL" || s.Processes[1].Calls != 1 || s.Processes[1].Exit != "exited with 0" {
		t.Errorf("processes: %+v %+v", s.Processes[0], s.Processes[1])
	}
	if s.Signals["SIGCHLD"] != 1 {
		t.Errorf("signals %v", s.Signals)
	}
}
