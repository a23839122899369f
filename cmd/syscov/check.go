package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/syscov/syscov/job"
	"github.com/syscov/syscov/trace/native"
)

// runCheck is the main job: trace the app natively (built-in tracer, with
// stacks), optionally run it in the unikernel with the same workload, diff,
// compute coverage, print a short verdict and write every report into the
// output directory. Exit 4 when the app needs syscalls the unikernel lacks.
func runCheck(e *env, args []string) error {
	fs := newFlagSet(e, "check", "check [--unikernel IMAGE ...] [--ready tcp:PORT] [--workload CMD] [--out DIR] -- CMD [ARGS]")
	fs.SetInterspersed(false)
	outDir := fs.String("out", "syscov-out", "directory for the traces and reports")
	workloadCmd := fs.String("workload", "", "shell command run against the app (natively and in the unikernel) once it is ready")
	var rdy readyFlags
	rdy.register(fs, 30*time.Second)
	timeout := fs.Duration("timeout", 0, "end each run after this long")
	stacks := fs.Bool("stacks", true, "record native call stacks (call sites in the reports)")
	var bf backendFlags
	bf.register(fs)
	appArgs := fs.StringArray("app-arg", nil, "unikernel: the app's arguments, when they differ from CMD ARGS (repeatable)")
	var jf judgeFlags
	jf.register(fs)
	var vf job.Verification
	fs.BoolVar(&vf.Off, "no-verify", false, "do not verify the lacking uses (every impact is then a prediction from known fallbacks)")
	fs.IntVar(&vf.Jobs, "verify-jobs", 1, "verification runs at once (they share the app's ports and files: raise only when the command allows it)")
	fs.IntVar(&vf.Max, "verify-max", 24, "verify at most this many lacking uses, the most called first")
	fs.StringVar(&vf.Check, "check", "", "shell command whose success says the app worked, run after the workload in each verification run")
	var uf job.UnikernelOptions
	registerUnikernel(fs, &uf, "also run the app in this Unikraft image on qemu-system-x86_64")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	argv := fs.Args()
	if len(argv) == 0 {
		return job.Usagef("no command: syscov check [FLAGS] -- CMD [ARGS]")
	}
	ready, err := rdy.ready()
	if err != nil {
		return err
	}
	if vf.Jobs < 1 || vf.Max < 1 {
		return job.Usagef("--verify-jobs and --verify-max want a number above 0")
	}
	j, err := jf.judgement()
	if err != nil {
		return err
	}
	var ncfg native.Config
	if err := bf.apply(&ncfg); err != nil {
		return err
	}
	c := &job.Check{RingBuffer: ncfg.RingBuffer, Argv: argv, AppArgs: *appArgs, Out: *outDir, Workload: *workloadCmd, Ready: ready, Timeout: *timeout,
		Stacks: *stacks, Backend: ncfg.Backend, Judgement: j, Unikernel: uf, Verification: vf, Rerun: "syscov check " + job.ShellJoin(args)}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return c.Run(ctx, e.output())
}
