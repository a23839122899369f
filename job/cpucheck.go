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

func (w CPUWarning) String() string {
	where := w.Use.Func
	if w.Use.File != "" {
		where += " at " + filepath.Base(w.Use.File) + fmt.Sprintf(":%d", w.Use.Line)
	}
	n := ""
	if w.Use.Count > 1 {
		n = fmt.Sprintf(", %d instructions in that function", w.Use.Count)
	}
	return fmt.Sprintf("the app's own code uses %s (%s in %s%s): %s; it is an invalid opcode in the unikernel if it runs", w.Use.Feature.Name, w.Use.Insn, where, n, w.Why)
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
		case f.State == "AVX-512":
			out = append(out, CPUWarning{u, "Unikraft enables no AVX-512 state in any release, whatever the CPU"})
		case gerr == nil:
			if has, known := guest[f.QEMU]; known && !has {
				out = append(out, CPUWarning{u, fmt.Sprintf("the guest CPU %s under %s lacks it", model, strings.ToUpper(accel))})
			}
		}
	}
	return out, nil
}

// warnCPUFeatures prints CPUFeatureWarnings before the unikernel run.
func warnCPUFeatures(ctx context.Context, o Output, uf UnikernelOptions, plan *UnikernelPlan) {
	if plan == nil || len(plan.Argv) == 0 {
		return
	}
	app := plan.Argv[0]
	if _, err := os.Stat(app); err != nil {
		return
	}
	ws, err := CPUFeatureWarnings(ctx, uf, app)
	if err != nil {
		return // not an ELF the scan reads: the run will say more
	}
	for _, w := range ws {
		fmt.Fprintf(o.Stderr, "syscov: warning: %s\n", w)
	}
}
