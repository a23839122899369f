package job

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/guard"
	"github.com/syscov/syscov/trace/unikernel"
	"github.com/syscov/syscov/trace/workload"
)

// Bench measures the app natively and in a Unikraft image side by side:
// image size, boot time, memory, and the throughput and latency of a load
// at several client counts, over several runs. The native app runs
// untraced (a tracer would be what is measured).
type Bench struct {
	Argv []string
	// AppArgs are the app's arguments in the unikernel, when they differ.
	AppArgs   []string
	Unikernel UnikernelOptions // Image "": native only
	// Ready is the native app's readiness (its port: tcp:PORT); the
	// unikernel's is the host side of the --port forward to that port.
	Ready    workload.Ready
	Runs     int
	Clients  []int
	Duration time.Duration // of each load
	Proto    string        // redis or http: syscov's own load
	// LoadCmd, when set, is the user's load command instead ({clients},
	// {port}); its output is read for the throughput.
	LoadCmd string
	// MemoryBisect finds the smallest guest memory that boots the app and
	// serves one client, to PrecisionMiB.
	MemoryBisect bool
	PrecisionMiB int
	// Progress, when set, receives the report after every finished run,
	// marked partial (written as it goes: an interrupt or a crash keeps
	// what was measured).
	Progress func(*analyze.BenchReport)
}

// interrupted ends a bench cut by Ctrl-C: the runs finished are kept in
// the report, marked partial; the run in progress is left out.
func (b *Bench) interrupted(rep *analyze.BenchReport, side string, run int) (*analyze.BenchReport, error) {
	rep.Partial = fmt.Sprintf("interrupted during %s run %d of %d: the runs finished before it are kept, that one is left out", side, run, b.Runs)
	rep.Warn()
	return rep, &ExitError{ExitInterrupt, errors.New(rep.Partial)}
}

// progress hands the report so far to Progress, marked as still running.
func (b *Bench) progress(rep *analyze.BenchReport, done, total int) {
	if b.Progress == nil {
		return
	}
	snap := *rep
	snap.Partial = fmt.Sprintf("still running: %d of %d runs done", done, total)
	b.Progress(&snap)
}

// Run runs the benchmark.
func (b *Bench) Run(ctx context.Context, o Output) (*analyze.BenchReport, error) {
	if b.Runs < 1 {
		b.Runs = 1
	}
	port := workload.PortOf(b.Ready.Spec)
	if port == 0 {
		return nil, Usagef("syscov bench needs --ready tcp:PORT: the port its load goes to")
	}
	rep := &analyze.BenchReport{Schema: analyze.BenchSchema, App: filepath.Base(b.Argv[0]), Command: b.Argv, Clients: b.Clients, Runs: b.Runs,
		Env: benchEnv()}
	plan, err := planFor(o, b.Unikernel, b.Argv, b.AppArgs)
	if err != nil {
		return nil, err
	}
	ukPort := 0
	if plan != nil {
		if ukPort = forwardedPort(b.Unikernel.Ports, port); ukPort == 0 {
			return nil, Usagef("syscov bench --unikernel needs --port HOST:%d (the guest's port forwarded to the host)", port)
		}
		rep.Image = b.Unikernel.Image
		if st, err := os.Stat(b.Unikernel.Image); err == nil {
			rep.KernelBytes = st.Size()
		}
	}
	rep.NativeBytes = nativeBytes(b.Argv[0])
	rep.Native = &analyze.BenchSide{Name: "native", OpsPerSec: map[int]analyze.Sample{}}
	total := b.Runs
	if plan != nil {
		total *= 2
	}
	for r := 0; r < b.Runs; r++ {
		run := b.nativeRun(ctx, port)
		if ctx.Err() != nil {
			return b.interrupted(rep, "native", r+1)
		}
		fmt.Fprintf(o.Stderr, "syscov: native run %d/%d: ready in %v%s\n", r+1, b.Runs, run.Ready.Round(time.Millisecond), errSuffix(run.Error))
		rep.Native.Add(run, b.Clients)
		b.progress(rep, r+1, total)
	}
	if plan != nil {
		dir, err := os.MkdirTemp("", "syscov-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		initrd := ""
		if plan.Rootfs != nil {
			if initrd, _, err = plan.PackInitrd(filepath.Join(dir, "bench")); err != nil {
				return nil, err
			}
			if st, err := os.Stat(initrd); err == nil {
				rep.InitrdBytes = st.Size()
			}
		}
		rep.Unikernel = &analyze.BenchSide{Name: "unikernel", OpsPerSec: map[int]analyze.Sample{}}
		for r := 0; r < b.Runs; r++ {
			run := b.unikernelRun(ctx, o, plan, initrd, b.Unikernel.Memory, ukPort, b.Clients, filepath.Join(dir, "console.log"))
			if ctx.Err() != nil {
				return b.interrupted(rep, "unikernel", r+1)
			}
			fmt.Fprintf(o.Stderr, "syscov: unikernel run %d/%d (%s): ready in %v%s\n", r+1, b.Runs, run.Accel, run.Ready.Round(time.Millisecond), errSuffix(run.Error))
			if b.Unikernel.KVM == unikernel.KVMAuto && run.Accel == "tcg" {
				// KVM could not run the guest: the next runs go to TCG at
				// once (a failed KVM start each time would be measured
				// as noise, and costs time).
				b.Unikernel.KVM = unikernel.KVMOff
				rep.Env["accel"] = "tcg (KVM could not run the guest)"
			} else if run.Accel != "" {
				rep.Env["accel"] = run.Accel
			}
			rep.Unikernel.Add(run, b.Clients)
			b.progress(rep, b.Runs+r+1, total)
		}
		if b.MemoryBisect {
			b.bisectMemory(ctx, o, plan, initrd, ukPort, dir, rep)
		}
	}
	rep.Warn()
	return rep, nil
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return "; " + e
}

// forwardedPort is the host side of the forward to the guest's port.
func forwardedPort(ports []string, guest int) int {
	for _, p := range ports {
		h, g, ok := strings.Cut(p, ":")
		hp, err1 := strconv.Atoi(h)
		gp, err2 := strconv.Atoi(g)
		if ok && err1 == nil && err2 == nil && gp == guest {
			return hp
		}
	}
	return 0
}

// nativeBytes is the size of the program and the libraries it loads.
func nativeBytes(prog string) int64 {
	r := unikernel.NewRootfs()
	if _, err := r.AddProgram(prog); err != nil {
		return 0
	}
	var n int64
	for _, e := range r.List() {
		n += e.Size
	}
	return n
}

// loads runs the load at each client count, stopping at the first that
// cannot run at all.
func (b *Bench) loads(ctx context.Context, port int, clients []int) ([]workload.LoadResult, error) {
	var out []workload.LoadResult
	for _, c := range clients {
		var res workload.LoadResult
		var err error
		if b.LoadCmd != "" {
			res, err = workload.CommandLoad{Template: b.LoadCmd, Clients: c, Port: port, Timeout: max(10*b.Duration, time.Minute)}.Run(ctx)
		} else {
			res, err = workload.Load{Proto: b.Proto, Addr: "127.0.0.1:" + strconv.Itoa(port), Clients: c, Duration: b.Duration}.Run(ctx)
		}
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}

// nativeRun starts the app untraced, under a guard, measures its start
// and runs the loads.
func (b *Bench) nativeRun(ctx context.Context, port int) analyze.BenchRun {
	var run analyze.BenchRun
	if pids := workload.Listeners(port); len(pids) > 0 {
		run.Error = fmt.Sprintf("port %d is already in use by %s", port, workload.Holders(pids))
		return run
	}
	cmd := exec.Command(b.Argv[0], b.Argv[1:]...)
	g, err := guard.Wrap(ctx, cmd)
	if err != nil {
		run.Error = err.Error()
		return run
	}
	start := time.Now()
	if err := g.Start(); err != nil {
		run.Error = err.Error()
		return run
	}
	exited := make(chan struct{})
	go func() { g.Cmd.Wait(); close(exited) }()
	ready := b.Ready
	ready.Root = g.Pid()
	if err := ready.Wait(ctx, exited); err != nil {
		run.Error = err.Error()
	} else {
		run.Ready = time.Since(start)
		run.Loads, err = b.loads(ctx, port, b.Clients)
		if err != nil {
			run.Error = err.Error()
		}
	}
	g.Kill()
	<-exited
	if ps := g.Cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			run.PeakRSSKiB = ru.Maxrss
		}
	}
	return run
}

// unikernelRun boots the image with memory, measures its boot and runs
// the loads through the port forward.
func (b *Bench) unikernelRun(ctx context.Context, o Output, plan *UnikernelPlan, initrd, memory string, port int, clients []int, consoleLog string) analyze.BenchRun {
	var run analyze.BenchRun
	var loads []workload.LoadResult
	var loadErr error
	ready := workload.Ready{Spec: "tcp:" + strconv.Itoa(port), Timeout: b.Ready.Timeout, Forwarded: true}
	uf := b.Unikernel
	// The console, kept for the moment a load meets errors: what the
	// guest said and which syscalls failed around it.
	var mu sync.Mutex
	var console []trace.Event
	cfg := unikernel.Config{QEMU: uf.QEMU, Image: uf.Image, Inspected: plan.Image, Initrd: initrd, RootFS: uf.Rootfs, Memory: memory, CPU: uf.CPU,
		KVM: uf.KVM, Ports: uf.Ports, Append: uf.Append, AppArgs: plan.Argv, ConsoleLog: consoleLog, Ready: ready,
		Idle: uf.Idle, BootTimeout: uf.BootTimeout, Stdout: os.Stderr, Stderr: os.Stderr, Warn: o.Warn,
		OnEvent: func(ev *trace.Event) {
			if ev.Kind == trace.KindMessage || ev.Kind == trace.KindSyscall && ev.Status != trace.StatusOK {
				mu.Lock()
				console = append(console, ev.Clone())
				if len(console) > 2000 {
					console = console[1000:]
				}
				mu.Unlock()
			}
		},
		Load: func(ctx context.Context) error {
			for _, c := range clients {
				start := time.Now().UnixNano()
				res, err := b.loads(ctx, port, []int{c})
				loads = append(loads, res...)
				if len(res) == 1 && run.BreakingConsole == nil {
					time.Sleep(200 * time.Millisecond) // the console's last lines
					mu.Lock()
					// An error or crash message of the guest while the load
					// ran (a virtio error, an assertion) breaks it too,
					// whatever the clients saw.
					if said := consoleErrors(console, start); said != "" && res[0].Errors == 0 {
						res[0].Errors, res[0].FirstError = 1, "the guest said: "+said
						loads[len(loads)-1] = res[0]
					}
					if res[0].Errors > 0 {
						run.BreakingConsole = consoleExcerpt(console, start, 12)
					}
					mu.Unlock()
				}
				if err != nil {
					loadErr = err
					return err
				}
			}
			return nil
		},
		Notice: func(msg string) { fmt.Fprintf(o.Stderr, "syscov: %s\n", msg) },
	}
	if uf.Initrd != "" {
		cfg.Initrd = uf.Initrd
	}
	res, err := unikernel.Run(ctx, cfg)
	if res != nil {
		run.FirstOutput, run.FirstSyscall, run.Ready, run.Ended, run.Accel = res.FirstOutput, res.FirstSyscall, res.Ready, res.Ended, res.Accel
		if res.Ended != unikernel.EndWorkload {
			run.Console = res.Detail
		}
	}
	run.Loads = loads
	switch {
	case err != nil:
		run.Error = err.Error()
	case run.Ready == 0:
		run.Error = "never ready (" + run.Ended + DetailSuffix(run.Console) + ")"
	case loadErr != nil:
		run.Error = loadErr.Error()
	}
	return run
}

// consoleErrors is the first error or critical message of the guest
// since a time ("" when none).
func consoleErrors(evs []trace.Event, since int64) string {
	for _, ev := range evs {
		if ev.Time >= since && ev.Kind == trace.KindMessage && (ev.Level == "err" || ev.Level == "crit") {
			return strings.TrimSpace(ev.Text)
		}
	}
	return ""
}

// consoleExcerpt is the guest's messages and failed syscalls from time
// since on, at most n lines.
func consoleExcerpt(evs []trace.Event, since int64, n int) []string {
	var out []string
	for _, ev := range evs {
		if ev.Time < since {
			continue
		}
		line := ev.Text
		if ev.Kind == trace.KindSyscall {
			line = fmt.Sprintf("%s(%s) = %s", ev.Name, ev.Args, ev.Ret)
		}
		out = append(out, strings.TrimSpace(line))
		if len(out) == n {
			break
		}
	}
	if out == nil {
		out = []string{"(the console said nothing and no syscall failed while the load ran)"}
	}
	return out
}

// bisectMemory finds the smallest --memory that boots and serves one
// client, between 4 MiB and the memory of the runs.
func (b *Bench) bisectMemory(ctx context.Context, o Output, plan *UnikernelPlan, initrd string, port int, dir string, rep *analyze.BenchReport) {
	hi := memoryMiB(b.Unikernel.Memory)
	if hi <= 0 {
		rep.Warnings = append(rep.Warnings, "--memory "+b.Unikernel.Memory+": not in MiB or GiB; no bisection")
		return
	}
	prec := b.PrecisionMiB
	if prec <= 0 {
		prec = 4
	}
	rep.MemoryTried, rep.MemoryPrecisionMiB = map[int]bool{}, prec
	lo := 4
	saved := b.Duration
	b.Duration = 500 * time.Millisecond
	defer func() { b.Duration = saved }()
	serves := func(mib int) bool {
		// A size fails only when it fails twice: one failed boot on a
		// busy host is not a memory limit.
		ok := false
		for try := 0; try < 2 && !ok && ctx.Err() == nil; try++ {
			run := b.unikernelRun(ctx, o, plan, initrd, strconv.Itoa(mib)+"M", port, []int{1}, filepath.Join(dir, "bisect.log"))
			ok = run.Error == "" && len(run.Loads) == 1 && run.Loads[0].Errors == 0 && run.Loads[0].Ops > 0
		}
		rep.MemoryTried[mib] = ok
		fmt.Fprintf(o.Stderr, "syscov: --memory %dM: %s\n", mib, map[bool]string{true: "serves", false: "fails"}[ok])
		return ok
	}
	if !serves(hi) {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the app does not serve with --memory %dM: no bisection", hi))
		return
	}
	for hi-lo > prec && ctx.Err() == nil {
		mid := (lo + hi) / 2
		if serves(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	rep.SmallestMemoryMiB = hi
}

// memoryMiB reads qemu's -m value (256M, 1G, 512).
func memoryMiB(s string) int {
	s = strings.TrimSpace(strings.ToUpper(s))
	mult := 1
	switch {
	case strings.HasSuffix(s, "G"):
		mult, s = 1024, strings.TrimSuffix(s, "G")
	case strings.HasSuffix(s, "M"):
		s = strings.TrimSuffix(s, "M")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0
	}
	return n * mult
}

// benchEnv is what explains variation: CPU, load, kernel, qemu.
func benchEnv() map[string]any {
	env := map[string]any{"cpus": runtime.NumCPU(), "go": runtime.Version()}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		env["host_load"] = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				env["cpu"] = strings.TrimSpace(v)
				break
			}
		}
	}
	env["host_kernel"] = HostKernel()
	if out, err := exec.Command("qemu-system-x86_64", "--version").Output(); err == nil {
		env["qemu"] = strings.SplitN(string(out), "\n", 2)[0]
	}
	return env
}
