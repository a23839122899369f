// Package argtest collects the argument texts of a trace by syscall and
// position, for the tests that hold syscov's tracers to strace's text and
// to each other.
package argtest

import (
	"sort"
	"strconv"

	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/sysargs"
)

// Pick chooses the text of argument i (of kind, a sysargs.Kinds name) of
// ev, whose arguments are args; ok false leaves it out.
type Pick func(ev *trace.Event, args []string, i int, kind string) (text string, ok bool)

// Texts collects, per "syscall#position" of an argument whose kind is in
// kinds, the sorted set of the texts it takes in evs (pick, when not nil,
// chooses or leaves out each one).
func Texts(evs []trace.Event, kinds map[string]bool, pick Pick) map[string][]string {
	sets := map[string]map[string]bool{}
	for i := range evs {
		ev := &evs[i]
		ks, ok := sysargs.Kinds(ev.Name)
		if !ok || ev.Kind != trace.KindSyscall {
			continue
		}
		args := trace.Args(ev.Args)
		for j, k := range ks {
			if !kinds[k] || j >= len(args) {
				continue
			}
			text := args[j]
			if pick != nil {
				if text, ok = pick(ev, args, j, k); !ok {
					continue
				}
			}
			key := ev.Name + "#" + strconv.Itoa(j)
			if sets[key] == nil {
				sets[key] = map[string]bool{}
			}
			sets[key][text] = true
		}
	}
	out := map[string][]string{}
	for k, set := range sets {
		for v := range set {
			out[k] = append(out[k], v)
		}
		sort.Strings(out[k])
	}
	return out
}
