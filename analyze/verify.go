package analyze

import (
	"bufio"
	"bytes"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/syscov/syscov/trace"
)

// Evidence is what a lacking use's impact rests on, strongest first.
type Evidence string

const (
	// EvidenceUnikernel: seen in a real unikernel run.
	EvidenceUnikernel Evidence = "unikernel"
	// EvidenceVerified: the app was run natively with exactly that use
	// answered as the target answers it.
	EvidenceVerified Evidence = "verified"
	// EvidenceProbe: `syscov probe` ran the app with the syscall stubbed
	// and faked.
	EvidenceProbe Evidence = "probe"
	// EvidenceTrace: the trace itself shows it (a call made only while
	// syscov stopped the app).
	EvidenceTrace Evidence = "trace"
	// EvidencePredicted: no run answered it; the impact is predicted from
	// the fallback knowledge (or its absence).
	EvidencePredicted Evidence = "predicted"
)

// Verification is the outcome of a native run of an app with one lacking
// use answered as the target answers it.
type Verification struct {
	// Works: the app was ready, the workload and the check passed and
	// its output held everything two unmodified runs agree on.
	Works bool
	// Answer is how the use was answered ("-EAFNOSUPPORT"), Answered how
	// many calls were.
	Answer   string
	Answered int
	// Why is the run's failure (or what differed), Log the file that
	// keeps its output.
	Why string
	Log string
}

// Text is the verification as the reports say it.
func (v Verification) Text() string {
	s := "verified natively: the app "
	if v.Works {
		s += "works"
	} else {
		s += "fails"
	}
	s += " with it answered " + v.Answer
	if v.Why != "" {
		s += " (" + v.Why + ")"
	}
	if v.Log != "" {
		s += "; run log " + v.Log
	}
	return s
}

// TargetAnswer is how the target answers a use: the return value a
// native run gives the call in its place.
type TargetAnswer struct {
	// Ret is the value (-errno, or a stub's value).
	Ret int64
	// Text says it ("-ENOSYS", "0 (the stub's value)").
	Text string
	// Emulable is false when no native run can answer the use as the
	// target does (the unikernel crashes there); Why says so.
	Emulable bool
	Why      string
}

var errnoInText = regexp.MustCompile(`-?(E[A-Z0-9]+)\b`)

// Answer is how the target answers a lacking use u of the app: what the
// unikernel run showed, else the answer of the table's argument rule, the
// stub's value, or -ENOSYS for a syscall it lacks (its dispatcher's
// answer).
func (j *Judge) Answer(arch trace.Arch, u *UsedSyscall) TargetAnswer {
	// A unikernel run that answered it says best ("unsupported EOPNOTSUPP").
	if f := strings.Fields(u.UnikernelSeen); len(f) == 2 {
		if nr := trace.ErrnoNumber(f[1]); nr > 0 {
			return TargetAnswer{Ret: -int64(nr), Text: "-" + f[1] + " (as the unikernel run answered it)", Emulable: true}
		}
	}
	if strings.HasSuffix(u.Key, " (fork)") {
		// posix-process answers a clone without CLONE_VM -EOPNOTSUPP
		// (glibc's fork); a syscall it lacks, -ENOSYS.
		if s := j.Table.Lookup(arch, u.Name); !s.Level.Absent() {
			return TargetAnswer{Ret: -95, Text: "-EOPNOTSUPP (a clone without CLONE_VM)", Emulable: true}
		}
		return TargetAnswer{Ret: -38, Text: "-ENOSYS", Emulable: true}
	}
	s := j.Table.Lookup(arch, u.Name)
	if len(s.Rules) > 0 && u.Key != u.Name {
		ev := &trace.Event{Kind: trace.KindSyscall, Name: u.Name, Args: u.args}
		if rule, _ := j.Table.RuleFor(arch, ev); rule != nil {
			return answerOfText(rule.Answer)
		}
	}
	if s.Level == Stubbed && s.Returns != "" {
		// "-EINVAL, 0": the errors are the stub's checks of its arguments
		// (as Linux makes them); a valid call gets the value that is not
		// an error.
		values := strings.Split(s.Returns, ",")
		pick := strings.TrimSpace(values[0])
		for _, v := range values {
			if v = strings.TrimSpace(v); !strings.HasPrefix(v, "-") {
				pick = v
			}
		}
		a := answerOfText(pick)
		a.Text = pick + " (the stub's value)"
		return a
	}
	return TargetAnswer{Ret: -38, Text: "-ENOSYS", Emulable: true}
}

// answerOfText reads a table's answer ("-EAFNOSUPPORT (no driver …)",
// "returns 0 at once", "crashes the unikernel (UK_CRASH)").
func answerOfText(text string) TargetAnswer {
	low := strings.ToLower(text)
	if strings.Contains(low, "crash") {
		return TargetAnswer{Text: text, Why: "the unikernel " + strings.TrimPrefix(text, "crashes the unikernel ") + ": no native run answers it so"}
	}
	if m := errnoInText.FindStringSubmatch(text); m != nil {
		if nr := trace.ErrnoNumber(m[1]); nr > 0 {
			return TargetAnswer{Ret: -int64(nr), Text: text, Emulable: true}
		}
	}
	for _, f := range strings.FieldsFunc(text, func(r rune) bool { return r == ' ' || r == ',' }) {
		if v, err := strconv.ParseInt(f, 0, 64); err == nil {
			return TargetAnswer{Ret: v, Text: text, Emulable: true}
		}
	}
	return TargetAnswer{Text: text, Why: "the answer " + strconv.Quote(text) + " is no value a native run can give"}
}

// Matches reports whether a call is the use u: the judge counts it under
// u's key (the one judge decides, argument by argument).
func (j *Judge) Matches(arch trace.Arch, u *UsedSyscall, ev *trace.Event) bool {
	if ev.Name != u.Name {
		return false
	}
	key, level, _ := j.Support(arch, ev)
	return key == u.Key && (level.Absent() || level == Stubbed)
}

// useGroups are the syscalls whose uses go together: a target that lacks
// one lacks the use of the others (no timer to delete when none could be
// made, no child to wait for when none could be forked).
var useGroups = map[string]string{
	"timer_create": "timer", "timer_settime": "timer", "timer_gettime": "timer", "timer_delete": "timer", "timer_getoverrun": "timer",
	"clone (fork)": "process", "clone3 (fork)": "process", "fork": "process", "vfork": "process", "wait4": "process", "waitid": "process",
	"inotify_init": "inotify", "inotify_init1": "inotify", "inotify_add_watch": "inotify", "inotify_rm_watch": "inotify",
	"io_uring_setup": "io_uring", "io_uring_enter": "io_uring", "io_uring_register": "io_uring",
	"mq_open": "mq", "mq_timedsend": "mq", "mq_timedreceive": "mq", "mq_notify": "mq", "mq_getsetattr": "mq", "mq_unlink": "mq",
	"semget": "sysv", "semop": "sysv", "semctl": "sysv", "semtimedop": "sysv", "shmget": "sysv", "shmat": "sysv", "shmdt": "sysv", "shmctl": "sysv",
	"msgget": "sysv", "msgsnd": "sysv", "msgrcv": "sysv", "msgctl": "sysv",
	"pidfd_open": "pidfd", "pidfd_send_signal": "pidfd", "pidfd_getfd": "pidfd",
}

// UseGroup is the group of uses a use key goes with ("" for none).
func UseGroup(key string) string { return useGroups[key] }

// unanswerable are the calls no verification run can answer: they do not
// return (exit, exit_group), or return from a signal handler, which a
// unikernel that delivers no signal to a handler never runs.
var unanswerable = map[string]bool{"exit": true, "exit_group": true, "rt_sigreturn": true}

// Lacking are the uses of an app's coverage that the unikernel lacks and
// that matter (blocks or degrades), then the stubbed ones (a stub's
// answer, -ENOSYS or a pretended success, may break the app as surely):
// the candidates for verification, each group most called first.
func (c *AppCoverage) Lacking() []*UsedSyscall {
	var out []*UsedSyscall
	for _, u := range append(append([]*UsedSyscall(nil), c.Blocking...), c.Tolerated...) {
		if (u.Impact == Blocks || u.Impact == Degrades) && !unanswerable[u.Name] {
			out = append(out, u)
		}
	}
	for _, u := range c.Used {
		if u.Level == Stubbed && u.ShutdownCalls < u.Calls && !unanswerable[u.Name] {
			out = append(out, u)
		}
	}
	return out
}

// StableOutput is what two unmodified runs of an app wrote alike: the
// lines both wrote, compared with their digits masked (times, pids,
// addresses and counters differ from run to run; a line that only a
// number tells apart from another is not told apart).
type StableOutput struct {
	lines map[string]int // masked line → how many times both runs wrote it
	text  map[string]string
}

var digits = regexp.MustCompile(`[0-9]+`)

func outputLines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func maskedCounts(b []byte, text map[string]string) map[string]int {
	m := map[string]int{}
	for _, l := range outputLines(b) {
		k := digits.ReplaceAllString(l, "#")
		m[k]++
		if text != nil && text[k] == "" {
			text[k] = l
		}
	}
	return m
}

// NewStableOutput compares the outputs of two unmodified runs.
func NewStableOutput(a, b []byte) *StableOutput {
	s := &StableOutput{lines: map[string]int{}, text: map[string]string{}}
	ma, mb := maskedCounts(a, s.text), maskedCounts(b, nil)
	for l, n := range ma {
		if k := min(n, mb[l]); k > 0 {
			s.lines[l] = k
		}
	}
	return s
}

// Lines is how many lines the two runs agree on.
func (s *StableOutput) Lines() int {
	n := 0
	for _, k := range s.lines {
		n += k
	}
	return n
}

// Missing are the stable lines a run did not write (at most max, first
// in sort order, as the first unmodified run wrote them): what a run lost
// against the unmodified ones.
func (s *StableOutput) Missing(out []byte, max int) []string {
	have := maskedCounts(out, nil)
	var missing []string
	for l, k := range s.lines {
		if have[l] < k {
			missing = append(missing, s.text[l])
		}
	}
	sort.Strings(missing)
	if len(missing) > max {
		missing = missing[:max]
	}
	return missing
}
