package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/syscov/syscov/analyze"
)

// DiffSchema names the version of the diff JSON document.
const DiffSchema = "syscov.diff/v1"

// Verdict is the one-line summary of a diff: what blocks the app, what
// it survives, and the file gaps of the image.
func Verdict(d *analyze.Diff) string {
	if d.TableWarning != "" {
		return verdict(d) + " — WARNING: " + d.TableWarning
	}
	return verdict(d)
}

func verdict(d *analyze.Diff) string {
	byImpact := map[analyze.Impact][]analyze.Gap{}
	for _, list := range [][]analyze.Gap{d.Missing, d.NotSupported} {
		for _, v := range list {
			byImpact[v.Impact] = append(byImpact[v.Impact], v)
		}
	}
	var parts []string
	if n := len(byImpact[analyze.Blocks]); n > 0 {
		parts = append(parts, fmt.Sprintf("%d blocking (%s)", n, gapNames(byImpact[analyze.Blocks])))
	}
	if n := len(byImpact[analyze.Degrades]); n > 0 {
		parts = append(parts, fmt.Sprintf("%d with a fallback (%s)", n, gapNames(byImpact[analyze.Degrades])))
	}
	if n := len(byImpact[analyze.Noise]); n > 0 {
		parts = append(parts, fmt.Sprintf("%d noise (%s)", n, gapNames(byImpact[analyze.Noise])))
	}
	if n := len(d.Failed); n > 0 {
		parts = append(parts, fmt.Sprintf("%d failing where native succeeded (%s)", n, gapNames(d.Failed)))
	}
	if n := len(d.FileGaps); n > 0 {
		parts = append(parts, fmt.Sprintf("%d files the image lacks", n))
	}
	switch {
	case d.Crash != nil:
		// A run that crashed never says "nothing is lacking": the crash
		// is what it lacks first.
		s := d.Crash.Headline()
		if d.Lacks(false) {
			return s + "; it also lacks syscalls the app needs: " + strings.Join(parts, "; ")
		}
		if len(parts) > 0 {
			return s + "; besides: " + strings.Join(parts, "; ")
		}
		return s
	case d.Lacks(false):
		return "the unikernel lacks syscalls the app needs: " + strings.Join(parts, "; ")
	case len(parts) == 0:
		return fmt.Sprintf("the unikernel ran every syscall the native run made that it reached (%d aligned)", d.Equal)
	}
	return "nothing the app needs is lacking: " + strings.Join(parts, "; ")
}

// verdictNames lists every name: a verdict line is never cut.
func gapNames(vs []analyze.Gap) string {
	var names []string
	for _, v := range vs {
		names = append(names, v.Name)
	}
	return strings.Join(names, ", ")
}

func eventLine(e analyze.DiffEvent) string {
	args := e.Args
	if len(args) > 60 {
		args = args[:59] + "…"
	}
	return fmt.Sprintf("%s(%s) = %s", e.Name, args, e.Ret)
}

func forkedSuffix(pos string) string {
	if pos == "" {
		return ""
	}
	return ", forked at " + pos
}

func detailSuffix(d string) string {
	if d == "" {
		return ""
	}
	return " (" + d + ")"
}

// impactCell is an impact with the evidence it rests on ("blocks
// [verified]"), as every report shows it.
func impactCell(i analyze.Impact, e analyze.Evidence) string {
	if i == "" || e == "" {
		return string(i)
	}
	return string(i) + " [" + string(e) + "]"
}

func outcome(v analyze.Gap) string {
	s := strconv.Itoa(v.UnikernelCalls) + "× " + v.Errno
	if v.Errno == "" {
		s = strconv.Itoa(v.UnikernelCalls) + "× not available"
	}
	return s
}

func firstSite(v analyze.Gap) string {
	if len(v.NativeSites) == 0 {
		return ""
	}
	return v.NativeSites[0]
}

func countsList(list []analyze.NameCount, n int) string {
	var parts []string
	for i, c := range list {
		if i == n {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%s×%d", c.Name, c.Count))
	}
	return strings.Join(parts, " ")
}

type jsonVerdict struct {
	Kind           string   `json:"kind"`
	Name           string   `json:"name"`
	Nr             int      `json:"nr"`
	Class          string   `json:"class"`
	Errno          string   `json:"errno,omitempty"`
	UnikernelCalls int      `json:"unikernel_calls"`
	NativeCalls    int      `json:"native_calls"`
	NativeSites    []string `json:"native_sites"`
	FirstUnikernel string   `json:"first_unikernel"`
	Note           string   `json:"note,omitempty"`
	Impact         string   `json:"impact,omitempty"`
	ImpactWhy      string   `json:"impact_why,omitempty"`
	Evidence       string   `json:"evidence,omitempty"`
	Closure        string   `json:"to_close,omitempty"`
}

type jsonDiffEvent struct {
	Name  string `json:"name"`
	Args  string `json:"args"`
	Ret   string `json:"ret"`
	Errno string `json:"errno,omitempty"`
	PID   int    `json:"pid"`
	Pos   string `json:"pos"`
}

// gapKind says where a missing file would come from.
func gapKind(g analyze.FileGap) string {
	if g.Kernel {
		return "the kernel (proc/sys/dev)"
	}
	return "the root filesystem"
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
