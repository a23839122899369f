package job

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/syscov/syscov/trace/elfcode"
	"github.com/syscov/syscov/trace/unikernel"
)

// CPUWarning is a CPU feature the app's own code uses that the target of
// a unikernel run lacks, found before the run.
type CPUWarning struct {
	Use elfcode.Use
	// Why the target lacks it: Unikraft's support for its state, or the
	// guest CPU.
	Why string
}

func (w CPUWarning) String() string { return w.line("") }

// line is the warning, with more about other functions.
func (w CPUWarning) line(more string) string {
	where := w.Use.Func
	if w.Use.File != "" {
		where += " at " + filepath.Base(w.Use.File) + fmt.Sprintf(":%d", w.Use.Line)
	}
	n := ""
	if w.Use.Count > 1 {
		n = fmt.Sprintf(", %d instructions in that function", w.Use.Count)
	}
	return fmt.Sprintf("the app's own code uses %s (%s in %s%s%s): %s; it is an invalid opcode in the unikernel if it runs", w.Use.Feature.Name, w.Use.Insn, where, n, more, w.Why)
}

// CPUFeatureWarnings scans the app's own code (not the code glibc's
// ifuncs choose by CPUID and XCR0) for instructions of features the
// target lacks: any AVX-512 (Unikraft enables none of its state), and the
// features the guest CPU (--cpu, or qemu's default for the accelerator
// the run will most likely get) lacks. What it cannot tell is in the
// README: code that only runs on some paths, JIT code, libraries.
func CPUFeatureWarnings(ctx context.Context, uf UnikernelOptions, app string) ([]CPUWarning, error) {
	o, err := elfcode.Open(app)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	uses, err := elfcode.ScanOwnCode(o)
	if err != nil || len(uses) == 0 {
		return nil, err
	}
	accel := "tcg"
	if uf.KVM != unikernel.KVMOff && unikernel.KVMUsable() {
		accel = "kvm"
	}
	model := unikernel.CPUModel(uf.CPU, accel)
	guest, gerr := unikernel.GuestCPUFeatures(ctx, uf.QEMU, accel, uf.CPU)
	if gerr != nil && accel == "kvm" {
		// KVM that qemu cannot use: the run falls back to TCG too.
		accel, model = "tcg", unikernel.CPUModel(uf.CPU, "tcg")
		guest, gerr = unikernel.GuestCPUFeatures(ctx, uf.QEMU, accel, uf.CPU)
	}
	var out []CPUWarning
	for _, u := range uses {
		f := u.Feature
		switch {
		case f.Name == "XSAVE":
			// XGETBV is how code asks for the state it may use, after
			// CPUID said OSXSAVE: the probe, not a use.
		case f.State == "AVX-512":
			out = append(out, CPUWarning{u, "Unikraft enables no AVX-512 state in any release, whatever the CPU"})
		case gerr == nil:
			if has, known := guest[f.QEMU]; known && !has {
				out = append(out, CPUWarning{u, fmt.Sprintf("the guest CPU %s lacks it (as qemu expands the model under %s)", model, strings.ToUpper(accel))})
			}
		}
	}
	return out, nil
}

// warnCPUFeatures starts CPUFeatureWarnings for the unikernel run of
// plan: the scan of a large app (Node.js: 27 MB of code, seconds) runs
// beside the native run, and its warnings are printed before the
// unikernel boots (RecordUnikernel waits for them).
func warnCPUFeatures(ctx context.Context, o Output, uf UnikernelOptions, plan *UnikernelPlan) {
	if plan == nil || len(plan.Argv) == 0 {
		return
	}
	app := plan.Argv[0]
	if _, err := os.Stat(app); err != nil {
		return
	}
	ch := make(chan []CPUWarning, 1)
	plan.cpuCheck = ch
	go func() {
		ws, _ := CPUFeatureWarnings(ctx, uf, app) // an ELF the scan cannot read: the run will say more
		ch <- ws
	}()
}

// printCPUCheck waits for the scan warnCPUFeatures started, and prints
// its warnings: one line per feature, with the first functions.
func (p *UnikernelPlan) printCPUCheck(o Output) {
	if p == nil || p.cpuCheck == nil {
		return
	}
	ws := <-p.cpuCheck
	p.cpuCheck = nil
	byFeature := map[string][]CPUWarning{}
	var order []string
	for _, w := range ws {
		n := w.Use.Feature.Name
		if byFeature[n] == nil {
			order = append(order, n)
		}
		byFeature[n] = append(byFeature[n], w)
	}
	for _, n := range order {
		list := byFeature[n]
		extra := ""
		if len(list) > 1 {
			var more []string
			for _, w := range list[1:min(len(list), 4)] {
				more = append(more, w.Use.Func)
			}
			if len(list) > 4 {
				more = append(more, fmt.Sprintf("… %d more", len(list)-4))
			}
			extra = fmt.Sprintf("; %d functions in all, also %s", len(list), strings.Join(more, ", "))
		}
		line := list[0].line(extra)
		fmt.Fprintf(o.Stderr, "syscov: warning: %s\n", line)
	}
}
