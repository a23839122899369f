// Package unikernel runs an application inside a Unikraft unikernel on
// qemu-system-x86_64 (KVM when the guest runs on it, TCG otherwise),
// streams the serial console through the Unikraft console reader of the
// trace package, and says how the run ended. It is part of the trace stage
// of the pipeline (trace → analyze → report).
package unikernel

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/syscov/syscov/internal/outfile"
	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/workload"
)

// KVM modes.
const (
	KVMAuto = "auto" // KVM when /dev/kvm opens, TCG when KVM cannot run the guest
	KVMOn   = "on"   // KVM or fail
	KVMOff  = "off"  // TCG
)

// Config describes one unikernel run.
type Config struct {
	QEMU  string // default qemu-system-x86_64 on PATH
	Image string // the unikernel (-kernel)
	// Inspected is what InspectImage read of Image (Run reads it when nil).
	Inspected *Image
	Initrd    string
	RootFS    string // a host directory shared over 9p (mount tag fs1)
	Memory    string // default 256M
	// CPU is qemu's -cpu value (a model and its feature switches, e.g.
	// "max,avx=off,avx2=off"); empty: host under KVM, max under TCG.
	CPU     string
	KVM     string   // auto, on, off
	Ports   []string // HOST:GUEST TCP forwards on 127.0.0.1
	Append  string   // kernel parameters
	AppArgs []string // the app's argv, written as KernelCmdline says
	Extra   []string // more qemu arguments, as given
	// ConsoleLog is where the raw console goes (always kept).
	ConsoleLog string
	Ready      workload.Ready
	Workload   string
	// Load, when set, runs instead of Workload once the guest is ready
	// (syscov's own load generator, for syscov bench).
	Load func(ctx context.Context) error
	Dir  string
	// Idle ends the run when the console has been quiet this long after
	// the last syscall (app-elfloader does not power off after the app's
	// exit_group). Zero: no idle end.
	Idle time.Duration
	// BootTimeout ends the run as a boot failure when the guest has not
	// made a syscall this long after qemu started (a guest that never
	// prints, too little memory). Zero: no boot timeout.
	BootTimeout time.Duration
	// Stdout, Stderr of the workload; qemu's own stderr is kept for the
	// result.
	Stdout, Stderr *os.File
	// Echo, when set, also receives the raw console as it arrives.
	Echo io.Writer
	// OnEvent receives every event of the final attempt, never
	// concurrently.
	OnEvent func(*trace.Event)
	// Warn receives malformed console lines.
	Warn func(*trace.SyntaxError)
	// Notice receives what the runner decided (the TCG fallback).
	Notice func(string)
}

// How a run ended.
const (
	EndPowerOff  = "guest powered off"
	EndReset     = "guest reset (qemu -no-reboot)"
	EndDebugExit = "guest exited through isa-debug-exit"
	EndPanic     = "guest panicked (pvpanic)"
	EndIdle      = "console idle after the last syscall"
	EndWorkload  = "stopped after the workload"
	EndTimeout   = "timeout"
	EndInterrupt = "interrupted"
	EndQEMU      = "qemu failed"
	EndBoot      = "boot failure"
	// The unikernel booted, but app-elfloader could not start the app:
	// the path is not in its root filesystem, or not a program it loads.
	EndAppNotFound = "app not found"
	EndAppNotExec  = "app not executable"
	EndCrash       = "guest stopped after a fatal error"
	EndLog         = "the console log could not be written"
)

// Result is how a unikernel run went.
type Result struct {
	VMM []string // the final qemu command line
	// Cmdline is the kernel command line the guest was given.
	Cmdline string
	Accel   string // "kvm" or "tcg"
	// Fallback is why KVM was left for TCG, when it was.
	Fallback string
	Ended    string
	// Detail says more about the end: the crash or boot failure line,
	// qemu's error, the debug-exit code.
	Detail   string
	Unikraft string // version from the banner
	// AppPath is the program app-elfloader could not start (EndAppNotFound,
	// EndAppNotExec), as it names it.
	AppPath     string
	WorkloadErr error
	Events      int
	Syscalls    int
	QEMUExit    int
	Elapsed     time.Duration
	// The boot, from qemu's start: its first console output, the first
	// syscall of the app, and the app ready (the --ready check passed);
	// zero when it did not happen.
	FirstOutput, FirstSyscall, Ready time.Duration
}

// fatalBoot are console messages after which the guest does not go on:
// an init function that failed (ukboot), app-elfloader not finding or
// loading the program, a crash or an assertion.
var fatalBoot = []string{"returned error", "Failed to find executable", "Failed to load", "Unhandled page fault", "Unikraft crash", "Assertion failure", "assertion failed", "Could not find an initrd"}

// KVMUsable reports whether /dev/kvm can be opened for KVM.
func KVMUsable() bool {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// Run boots the unikernel and records its console. ctx's end (timeout,
// Ctrl-C) stops the VM. A VMM that does not start is an error that
// carries its own words; with --kvm auto, one that fails in a way KVM
// explains (at start or at the guest's first instructions) is run again
// under TCG, and the result says why.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Image == "" {
		return nil, errNoImage
	}
	if cfg.OnEvent == nil {
		cfg.OnEvent = func(*trace.Event) {} // a run measured, not recorded
	}
	mode := cfg.KVM
	if mode == "" {
		mode = KVMAuto
	}
	switch mode {
	case KVMOn, KVMAuto, KVMOff:
	default:
		return nil, fmt.Errorf("--kvm %q: want auto, on or off", mode)
	}
	im := cfg.Inspected
	if im == nil {
		var err error
		if im, err = InspectImage(cfg.Image); err != nil {
			return nil, err
		}
	}
	cmdline, err := KernelCmdline(im, cfg.Append, cfg.AppArgs)
	if err != nil {
		return nil, err
	}
	qemuBin := cfg.QEMU
	if qemuBin == "" {
		qemuBin = "qemu-system-x86_64"
	}
	path, err := exec.LookPath(qemuBin)
	if err != nil {
		return nil, fmt.Errorf("%w (install Debian's qemu-system-x86 package)", err)
	}
	vmm := QEMU{Binary: path}
	start := time.Now()
	accel := "tcg"
	switch mode {
	case KVMOn:
		if !KVMUsable() {
			return nil, errors.New("--kvm on: /dev/kvm cannot be opened")
		}
		accel = "kvm"
	case KVMAuto:
		if KVMUsable() {
			accel = "kvm"
		}
	}
	res, err := attempt(ctx, cfg, vmm, accel, cmdline, mode == KVMAuto)
	var why string
	var se *startError
	switch {
	case errors.As(err, &se) && accel == "kvm" && isKVMFailure(se.Stderr):
		why = lastLines(se.Stderr, 2)
	case err != nil:
		return nil, err
	case res.Ended == EndQEMU && accel == "kvm" && isKVMFailure(res.Detail):
		why = res.Detail
	}
	if why != "" {
		if mode == KVMOn {
			return res, fmt.Errorf("--kvm on: KVM cannot run this guest: %s", why)
		}
		if cfg.Notice != nil {
			cfg.Notice("KVM cannot run this guest (" + why + "); rerun under TCG")
		}
		if res, err = attempt(ctx, cfg, vmm, "tcg", cmdline, false); err != nil {
			return nil, err
		}
		res.Fallback = why
	}
	res.Cmdline = cmdline
	res.Elapsed = time.Since(start)
	return res, nil
}

// runState is what one attempt learns from the console, shared by the
// reader goroutine and the loop that decides when the run ends.
type runState struct {
	mu          sync.Mutex
	lastSyscall time.Time
	lastOutput  time.Time
	held        []trace.Event
	holding     bool
	errLines    []string // ERR and CRIT messages before the first syscall
	fatal       string   // the message that stopped the guest
	fatalAt     time.Time
	crash       string
	// app is app-elfloader's message that it could not start the app,
	// appEnd which end that is, appPath the program it names.
	app, appEnd, appPath string
	listening            bool  // a listen() succeeded in the guest
	logErr               error // the console log could not be written
	logMatch             func(string)
	// started is qemu's start, for the boot timings of the Result.
	started time.Time
}

// attempt is one boot. With buffer set, events are held back until the
// guest has shown it runs (a syscall, or 2 s): a KVM failure at boot then
// leaves nothing behind.
func attempt(ctx context.Context, cfg Config, vmm VMM, accel, cmdline string, buffer bool) (*Result, error) {
	var console io.Writer = io.Discard
	if cfg.ConsoleLog != "" {
		f, err := outfile.Create(cfg.ConsoleLog)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		console = f
	}
	if cfg.Echo != nil {
		console = io.MultiWriter(console, cfg.Echo)
	}
	started := time.Now()
	m, err := vmm.Start(cfg, accel, cmdline)
	if err != nil {
		return nil, err
	}
	defer m.Kill()
	res := &Result{VMM: m.Argv(), Accel: accel}
	st := &runState{holding: buffer, lastOutput: time.Now(), started: started}
	// log:REGEX: matched against the app's output on the console.
	logMatch, logged := workload.LogMatcher(cfg.Ready.Spec)
	cfg.Ready.Logged = logged
	st.logMatch = logMatch
	readerDone := make(chan struct{})
	go readConsole(cfg, m.Console(), console, res, st, readerDone)

	// The workload, once the guest is ready: a forwarded port counts only
	// once the guest listens.
	if len(cfg.Ports) > 0 && cfg.Ready.Spec != "" {
		cfg.Ready.Gate = func() bool {
			st.mu.Lock()
			defer st.mu.Unlock()
			return st.listening
		}
	}
	workloadDone, workloadRunning := startWorkload(ctx, cfg, m, func() {
		st.mu.Lock()
		res.Ready = time.Since(started)
		st.mu.Unlock()
	})
	bootTimer := time.NewTimer(2 * time.Second)
	defer bootTimer.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	quit := func(why string) {
		res.Ended = why
		m.Quit(2 * time.Second)
	}
loop:
	for {
		select {
		case <-m.Exited():
			break loop
		case err := <-workloadDone:
			res.WorkloadErr = err
			workloadRunning = false
			quit(EndWorkload)
			break loop
		case <-ctx.Done():
			res.Ended = EndInterrupt
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				res.Ended = EndTimeout
			}
			m.Kill()
			break loop
		case <-bootTimer.C:
			st.mu.Lock()
			if st.holding {
				st.release(cfg.OnEvent)
			}
			st.mu.Unlock()
		case <-tick.C:
			if accel == "kvm" {
				if s := m.Stderr(); isKVMFailure(s) {
					res.Ended, res.Detail = EndQEMU, lastLines(s, 2)
					m.Kill()
					st.mu.Lock()
					st.held = nil
					st.mu.Unlock()
					break loop
				}
			}
			st.mu.Lock()
			logErr := st.logErr
			quiet := time.Since(st.lastOutput)
			stopped := st.fatal != ""
			// A crash dump that never ends (0.18's frame walk loops on a
			// frame chain that points back at itself: 100 MB a minute,
			// and no syscall after it) is stopped too.
			endless := stopped && time.Since(st.fatalAt) >= 2*time.Second && st.lastSyscall.Before(st.fatalAt)
			fatal := stopped && (quiet >= 500*time.Millisecond || endless)
			noBoot := cfg.BootTimeout > 0 && st.lastSyscall.IsZero() && time.Since(started) >= cfg.BootTimeout
			printed := res.FirstOutput > 0
			idle := cfg.Idle > 0 && !workloadRunning && !st.lastSyscall.IsZero() && time.Since(st.lastSyscall) >= cfg.Idle && quiet >= cfg.Idle
			st.mu.Unlock()
			switch {
			case logErr != nil:
				// The raw console is the run's evidence: a run whose log
				// is lost is stopped, not finished without it.
				res.Ended, res.Detail = EndLog, logErr.Error()
				m.Kill()
				break loop
			case noBoot && !stopped:
				res.Ended, res.Detail = EndBoot, bootTimeoutDetail(cfg, printed)
				m.Kill()
				break loop
			case fatal:
				// The guest stopped (app-elfloader halts or spins after a
				// failed init or a crash): no point waiting for idle.
				quit(EndCrash)
				break loop
			case idle && stopped:
				quit(EndCrash)
				break loop
			case idle:
				quit(EndIdle)
				break loop
			}
		}
	}
	m.Kill()
	<-readerDone
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.holding && res.Ended != EndQEMU {
		st.release(cfg.OnEvent)
	}
	ended, detail, code := m.End()
	res.QEMUExit = code
	if res.Ended == "" {
		res.Ended, res.Detail = ended, detail
	}
	nameEnd(res, st)
	if st.logErr != nil {
		res.Ended, res.Detail = EndLog, st.logErr.Error()
	}
	return res, nil
}

// startWorkload runs the workload once the guest is ready; its result
// comes on done (nothing when there is no workload and readiness holds).
func startWorkload(ctx context.Context, cfg Config, m Machine, ready func()) (done chan error, running bool) {
	done = make(chan error, 1)
	hasWork := cfg.Workload != "" || cfg.Load != nil
	if !hasWork && cfg.Ready.Spec == "" && cfg.Ready.Delay <= 0 {
		return done, false
	}
	go func() {
		if err := cfg.Ready.Wait(ctx, m.Exited()); err != nil {
			done <- err
			return
		}
		ready()
		switch {
		case cfg.Load != nil:
			done <- cfg.Load(ctx)
		case cfg.Workload != "":
			done <- workload.Run(ctx, cfg.Workload, cfg.Dir, cfg.Stdout, cfg.Stderr)
		}
	}()
	return done, hasWork
}

// nameEnd says how a run ended once the VM is gone: a boot failure named
// by the line that mattered, a crash by its first lines.
func nameEnd(res *Result, st *runState) {
	switch {
	case res.Ended == EndQEMU:
	case res.Syscalls == 0 && st.app != "" && res.Ended != EndTimeout && res.Ended != EndInterrupt:
		res.Ended, res.Detail, res.AppPath = st.appEnd, st.app, st.appPath
	case res.Syscalls == 0 && (st.fatal != "" || len(st.errLines) > 0) && res.Ended != EndTimeout && res.Ended != EndInterrupt:
		res.Ended, res.Detail = EndBoot, bootFailure(st)
	case res.Syscalls == 0 && st.fatal != "":
		res.Detail = bootFailure(st)
	case res.Ended == EndCrash || res.Ended == EndPanic:
		if res.Detail == "" {
			res.Detail = firstNonEmpty(st.crash, st.fatal)
		}
	case st.crash != "" && res.Detail == "":
		res.Detail = st.crash
	}
}

// readConsole copies the console to the log and parses it into events.
func readConsole(cfg Config, in io.ReadCloser, log io.Writer, res *Result, st *runState, done chan<- struct{}) {
	defer close(done)
	defer in.Close()
	pr, pw := io.Pipe()
	go func() {
		br := bufio.NewReaderSize(in, 64<<10)
		buf := make([]byte, 32<<10)
		for {
			n, err := br.Read(buf)
			if n > 0 {
				_, lerr := log.Write(buf[:n])
				pw.Write(buf[:n])
				st.mu.Lock()
				if lerr != nil && st.logErr == nil {
					st.logErr = lerr
				}
				st.lastOutput = time.Now()
				if res.FirstOutput == 0 {
					res.FirstOutput = st.lastOutput.Sub(st.started)
				}
				st.mu.Unlock()
			}
			if err != nil {
				pw.Close()
				return
			}
		}
	}()
	r, err := trace.NewReader(pr, "console", 0, trace.Options{Format: trace.FormatUnikraft, Origin: trace.OriginUnikernel, Warn: cfg.Warn})
	if err != nil {
		io.Copy(io.Discard, pr)
		return
	}
	for r.Scan() {
		ev := r.Event()
		if ev.Time == trace.NoTime {
			// The shim's lines carry no time: the event gets the host's
			// clock when its line arrived (Unix ns).
			ev.Time = time.Now().UnixNano()
		}
		st.mu.Lock()
		res.Events++
		switch ev.Kind {
		case trace.KindSyscall:
			res.Syscalls++
			st.lastSyscall = time.Now()
			if res.FirstSyscall == 0 {
				res.FirstSyscall = st.lastSyscall.Sub(st.started)
			}
			if ev.Name == "listen" && ev.Status == trace.StatusOK {
				st.listening = true
			}
			if st.holding {
				st.release(cfg.OnEvent)
			}
		case trace.KindMessage:
			st.note(ev, res.Syscalls)
		case trace.KindOutput:
			if st.logMatch != nil {
				st.logMatch(ev.Text)
			}
		}
		if st.holding {
			st.held = append(st.held, ev.Clone())
		} else {
			cfg.OnEvent(ev)
		}
		st.mu.Unlock()
	}
	st.mu.Lock()
	res.Unikraft = r.Header().Unikraft
	st.mu.Unlock()
}

func (st *runState) release(onEvent func(*trace.Event)) {
	for i := range st.held {
		onEvent(&st.held[i])
	}
	st.held, st.holding = nil, false
}

// note keeps the kernel messages that explain a failed boot or a crash.
func (st *runState) note(ev *trace.Event, syscalls int) {
	isErr := ev.Level == "err" || ev.Level == "crit"
	text := strings.TrimSpace(ev.Text)
	if isErr && syscalls == 0 {
		// The last of app-elfloader's messages says most ("Parsing of ELF
		// image failed" after "Image format not recognized").
		if end, path := AppFailure(ev.Library, text); end != "" {
			if st.app != "" {
				text += " (after: " + st.app + ")"
			}
			st.app, st.appEnd, st.appPath = text, end, path
		}
	}
	if isErr && syscalls == 0 && !strings.HasPrefix(text, "*") {
		st.errLines = append(st.errLines, text)
	}
	fatal := ev.Level == "crit"
	for _, f := range fatalBoot {
		if strings.Contains(text, f) {
			fatal = true
		}
	}
	if !fatal {
		return
	}
	if ev.Level == "crit" && st.crash == "" {
		st.crash = text
	}
	if st.fatal == "" {
		st.fatal, st.fatalAt = text, time.Now()
	}
}

// AppFailure reads app-elfloader's messages that it could not start the
// program (main.c, elf_load.c of app-elfloader e4f7014, as the 0.17 and
// 0.18 images print them):
//
//	"nonexistent: Failed to execute /nonexistent: No such file or directory"
//	"--: Failed to find executable in envirenment ($PATH): No such file or directory (-2)"
//	"ld.so.cache: Parsing of ELF image failed: Exec format error (-8)"
//	"ld.so.cache: Image format not recognized or not supported"
//
// It returns EndAppNotFound or EndAppNotExec and the program it names
// (the full path when the message has one), or "" for another message.
func AppFailure(lib, text string) (end, path string) {
	if lib != "appelfloader" {
		return "", ""
	}
	prog, msg, ok := strings.Cut(text, ": ")
	if !ok {
		return "", ""
	}
	switch {
	case strings.HasPrefix(msg, "Failed to execute "):
		path, why, _ := strings.Cut(strings.TrimPrefix(msg, "Failed to execute "), ": ")
		if strings.HasPrefix(why, "No such file or directory") || strings.HasPrefix(why, "Not a directory") {
			return EndAppNotFound, path
		}
		return EndAppNotExec, path
	case strings.HasPrefix(msg, "Failed to find executable"):
		return EndAppNotFound, prog
	case strings.HasPrefix(msg, "Parsing of ELF image failed"), strings.HasPrefix(msg, "Image format not recognized"),
		strings.HasPrefix(msg, "Failed to load"):
		return EndAppNotExec, prog
	}
	return "", ""
}

// bootFailure names the line that stopped the boot, and the error before
// it that gave the same code (ukboot's "Init function … returned error
// -95" follows the library's own "Could not initialize the HWRNG (-95)").
func bootFailure(st *runState) string {
	stop := st.fatal
	if stop == "" && len(st.errLines) > 0 {
		stop = st.errLines[len(st.errLines)-1]
	}
	code := errCode(stop)
	if code == "" {
		return stop
	}
	for _, l := range st.errLines {
		if l != stop && errCode(l) == code {
			return stop + " (after: " + l + ")"
		}
	}
	return stop
}

// errCode finds a negative error number in a message: "(-95)" or
// "error -95".
func errCode(s string) string {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '-' && s[i+1] >= '0' && s[i+1] <= '9' && (i == 0 || s[i-1] == '(' || s[i-1] == ' ') {
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			return s[i:j]
		}
	}
	return ""
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// bootTimeoutDetail says why a guest that made no syscall was stopped.
func bootTimeoutDetail(cfg Config, printed bool) string {
	d := fmt.Sprintf("no syscall of the app %v after qemu started (--boot-timeout)", cfg.BootTimeout)
	if !printed {
		d += "; the guest printed nothing"
	}
	if mib, err := ParseMemory(cfg.Memory); err == nil && mib < 16 {
		d += fmt.Sprintf("; --memory %s is very little", cfg.Memory)
	}
	return d
}

// ParseMemory reads a guest memory size as qemu's -m takes it (256M, 1G,
// 512: MiB when there is no suffix) and returns it in MiB; "" is the
// default, 256M. Zero, a negative size or text are errors.
func ParseMemory(s string) (mib float64, err error) {
	if s == "" {
		return 256, nil
	}
	num, mult := s, 1.0
	switch s[len(s)-1] {
	case 'k', 'K':
		num, mult = s[:len(s)-1], 1.0/1024
	case 'm', 'M':
		num = s[:len(s)-1]
	case 'g', 'G':
		num, mult = s[:len(s)-1], 1024
	case 't', 'T':
		num, mult = s[:len(s)-1], 1024*1024
	}
	n, perr := strconv.ParseFloat(num, 64)
	if perr != nil || num == "" || strings.ContainsAny(num, "eEinxp+-") {
		return 0, fmt.Errorf("%q is not a size: want a number of MiB, or one with K, M, G or T (256M, 1G)", s)
	}
	if n <= 0 {
		return 0, fmt.Errorf("%q: the guest needs some memory", s)
	}
	return n * mult, nil
}
