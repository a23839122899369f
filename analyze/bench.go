package analyze

import (
	"fmt"
	"time"

	"github.com/syscov/syscov/trace/workload"
)

// BenchSchema names the version of the bench JSON document.
const BenchSchema = "syscov.bench/v1"

// BenchRun is one run of one side.
type BenchRun struct {
	// Boot, from the start of qemu or of the app: first console output,
	// first syscall (unikernel), ready.
	FirstOutput  time.Duration         `json:"first_output_ns,omitempty"`
	FirstSyscall time.Duration         `json:"first_syscall_ns,omitempty"`
	Ready        time.Duration         `json:"ready_ns"`
	Loads        []workload.LoadResult `json:"loads"`
	PeakRSSKiB   int64                 `json:"peak_rss_kib,omitempty"`
	Ended        string                `json:"ended,omitempty"`
	Error        string                `json:"error,omitempty"`
	Accel        string                `json:"accel,omitempty"`
	Console      string                `json:"console_excerpt,omitempty"`
	// BreakingConsole is what the guest said, and which syscalls failed,
	// while the first load with errors ran.
	BreakingConsole []string `json:"breaking_console,omitempty"`
}

// BenchSide is every run of one side, and what they say together.
type BenchSide struct {
	Name string     `json:"name"` // native or unikernel
	Runs []BenchRun `json:"runs"`
	// OpsPerSec are the throughputs by client count, one per run.
	OpsPerSec map[int]Sample `json:"ops_per_sec"`
	ReadyMs   Sample         `json:"ready_ms"`
	// BreakingPoint is the first client count whose load met errors (0:
	// none), with the first error.
	BreakingPoint   int      `json:"breaking_point,omitempty"`
	BreakingError   string   `json:"breaking_error,omitempty"`
	BreakingConsole []string `json:"breaking_console,omitempty"`
}

// BenchReport is what syscov bench measured.
type BenchReport struct {
	Schema  string   `json:"schema"`
	App     string   `json:"app"`
	Command []string `json:"command"`
	Image   string   `json:"image,omitempty"`
	Clients []int    `json:"clients"`
	Runs    int      `json:"runs"`
	// Sizes in bytes: the kernel image, the initrd syscov packed, the
	// native program and the libraries it loads.
	KernelBytes, InitrdBytes, NativeBytes int64
	Native, Unikernel                     *BenchSide
	// SmallestMemoryMiB is the least guest memory that served the load
	// (MemoryBisect), to MemoryPrecisionMiB; MemoryTried what was tried.
	SmallestMemoryMiB  int            `json:"smallest_memory_mib,omitempty"`
	MemoryPrecisionMiB int            `json:"memory_precision_mib,omitempty"`
	MemoryTried        map[int]bool   `json:"memory_tried,omitempty"`
	Env                map[string]any `json:"environment"`
	Warnings           []string       `json:"warnings,omitempty"`
	// Partial says why the report holds fewer runs than asked for (an
	// interrupt; "still running" while it is written as it goes).
	Partial string `json:"partial,omitempty"`
}

// Add counts a run into the side's samples.
func (s *BenchSide) Add(run BenchRun, clients []int) {
	s.Runs = append(s.Runs, run)
	if run.Ready > 0 {
		s.ReadyMs = append(s.ReadyMs, float64(run.Ready)/float64(time.Millisecond))
	}
	for _, l := range run.Loads {
		s.OpsPerSec[l.Clients] = append(s.OpsPerSec[l.Clients], l.OpsPerSec)
		if l.Errors > 0 && (s.BreakingPoint == 0 || l.Clients < s.BreakingPoint) {
			s.BreakingPoint, s.BreakingError, s.BreakingConsole = l.Clients, l.FirstError, run.BreakingConsole
		}
	}
	if run.Error != "" && len(run.Loads) < len(clients) {
		// The load could not run at the next client count: the app broke
		// there (or before the first).
		at := clients[min(len(run.Loads), len(clients)-1)]
		if s.BreakingPoint == 0 || at < s.BreakingPoint {
			s.BreakingPoint, s.BreakingError = at, run.Error
		}
	}
}

// Warn notes what makes the numbers hard to conclude from.
func (r *BenchReport) Warn() {
	for _, s := range []*BenchSide{r.Native, r.Unikernel} {
		if s == nil {
			continue
		}
		for c, sample := range s.OpsPerSec {
			if len(sample) > 1 && sample.Spread() > 0.25 {
				r.Warnings = append(r.Warnings, fmt.Sprintf("%s, %d clients: the runs spread %.0f %% around their median: too wide to conclude", s.Name, c, 100*sample.Spread()))
			}
		}
	}
	if r.Runs < 6 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d runs: a 95 %% interval of the median needs 6 or more", r.Runs))
	}
}

// Comparison is native against unikernel at one client count.
type Comparison struct {
	Clients       int     `json:"clients"`
	Native        float64 `json:"native_ops_per_sec"`
	Unikernel     float64 `json:"unikernel_ops_per_sec"`
	Ratio         float64 `json:"ratio"` // unikernel / native
	P             float64 `json:"p"`
	Significant   bool    `json:"significant"` // p < 0.05
	NativeRuns    int     `json:"native_runs"`
	UnikernelRuns int     `json:"unikernel_runs"`
}

// Compare compares the two sides' throughput at each client count
// (medians; the Mann-Whitney U test says whether they differ).
func (r *BenchReport) Compare() []Comparison {
	if r.Native == nil || r.Unikernel == nil {
		return nil
	}
	var out []Comparison
	for _, c := range r.Clients {
		n, u := r.Native.OpsPerSec[c], r.Unikernel.OpsPerSec[c]
		if len(n) == 0 || len(u) == 0 {
			continue
		}
		cmp := Comparison{Clients: c, Native: n.Median(), Unikernel: u.Median(), NativeRuns: len(n), UnikernelRuns: len(u)}
		if cmp.Native > 0 {
			cmp.Ratio = cmp.Unikernel / cmp.Native
		}
		_, cmp.P = MannWhitney(n, u)
		cmp.Significant = cmp.P < 0.05
		out = append(out, cmp)
	}
	return out
}
