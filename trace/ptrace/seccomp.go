package ptrace

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Action is what the seccomp filter does with a syscall.
type Action struct {
	// Trace stops the tracee at the call (SECCOMP_RET_TRACE).
	Trace bool
	// Errno > 0 makes the call fail with that errno without running it
	// (SECCOMP_RET_ERRNO).
	Errno int
}

const (
	seccompRetAllow = 0x7fff0000
	seccompRetTrace = 0x7ff00000
	seccompRetErrno = 0x00050000

	bpfLdWAbs = 0x20 // BPF_LD | BPF_W | BPF_ABS
	bpfJeqK   = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	bpfRetK   = 0x06 // BPF_RET | BPF_K
	bpfJa     = 0x05 // BPF_JMP | BPF_JA
)

type sockFilter = unix.SockFilter

func ins(code uint16, jt, jf uint8, k uint32) sockFilter {
	return sockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

// buildFilter assembles a classic BPF program: syscalls in actions get
// their action, every other syscall (and any other ABI) is allowed. The
// compares come in chunks, each followed by the returns its compares jump
// to (one per distinct action), so that no jump is longer than a
// conditional jump's 8-bit offset allows, however many syscalls there are.
func buildFilter(actions map[int]Action) ([]sockFilter, error) {
	nrs := make([]int, 0, len(actions))
	for nr := range actions {
		nrs = append(nrs, nr)
	}
	sort.Ints(nrs)
	prog := []sockFilter{
		ins(bpfLdWAbs, 0, 0, 4), // seccomp_data.arch
		ins(bpfJeqK, 1, 0, auditArch),
		ins(bpfRetK, 0, 0, seccompRetAllow),
		ins(bpfLdWAbs, 0, 0, 0), // seccomp_data.nr
	}
	const chunk = 100
	for start := 0; start < len(nrs); start += chunk {
		part := nrs[start:min(start+chunk, len(nrs))]
		var rets []uint32
		index := map[uint32]int{}
		for _, nr := range part {
			ret := actionRet(actions[nr])
			if _, ok := index[ret]; !ok {
				index[ret] = len(rets)
				rets = append(rets, ret)
			}
		}
		for i, nr := range part {
			// From compare i to return r: the compares after it, the
			// jump over the returns, and the returns before r.
			dist := len(part) - 1 - i + 1 + index[actionRet(actions[nr])]
			prog = append(prog, ins(bpfJeqK, uint8(dist), 0, uint32(nr)))
		}
		prog = append(prog, ins(bpfJa, 0, 0, uint32(len(rets))))
		for _, ret := range rets {
			prog = append(prog, ins(bpfRetK, 0, 0, ret))
		}
	}
	prog = append(prog, ins(bpfRetK, 0, 0, seccompRetAllow))
	if len(prog) > 4096 {
		return nil, fmt.Errorf("seccomp filter: %d instructions, at most 4096", len(prog))
	}
	return prog, nil
}

func actionRet(a Action) uint32 {
	if a.Errno > 0 {
		return seccompRetErrno | uint32(a.Errno&0xffff)
	}
	return seccompRetTrace
}

// encodeActions writes actions into the helper's environment variable:
// "nr:t" to trace, "nr:eN" to fail with errno N, comma separated.
func encodeActions(actions map[int]Action) string {
	var parts []string
	for nr, a := range actions {
		if a.Errno > 0 {
			parts = append(parts, fmt.Sprintf("%d:e%d", nr, a.Errno))
		} else {
			parts = append(parts, fmt.Sprintf("%d:t", nr))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func decodeActions(s string) (map[int]Action, error) {
	actions := map[int]Action{}
	if s == "" {
		return actions, nil
	}
	for _, part := range strings.Split(s, ",") {
		nrText, act, ok := strings.Cut(part, ":")
		nr, err := strconv.Atoi(nrText)
		if !ok || err != nil {
			return nil, fmt.Errorf("bad seccomp action %q", part)
		}
		switch {
		case act == "t":
			actions[nr] = Action{Trace: true}
		case strings.HasPrefix(act, "e"):
			e, err := strconv.Atoi(act[1:])
			if err != nil || e <= 0 {
				return nil, fmt.Errorf("bad seccomp action %q", part)
			}
			actions[nr] = Action{Errno: e}
		default:
			return nil, fmt.Errorf("bad seccomp action %q", part)
		}
	}
	return actions, nil
}
