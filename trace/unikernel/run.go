// Package unikernel runs an application inside a Unikraft unikernel on
// qemu-system-x86_64 (KVM when the guest runs on it, TCG otherwise),
// streams the serial console through the Unikraft console reader of the
// trace package, and says how the run ended. It is part of the trace stage
// of the pipeline (trace → analyze → report).
package unikernel

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

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
	QEMU    string // default qemu-system-x86_64 on PATH
	Image   string // the unikernel (-kernel)
	Initrd  string
	RootFS  string   // a host directory shared over 9p (mount tag fs1)
	Memory  string   // default 256M
	KVM     string   // auto, on, off
	Ports   []string // HOST:GUEST TCP forwards on 127.0.0.1
	Append  string   // kernel parameters
	AppArgs []string // the app's arguments, after " -- "
	Extra   []string // more qemu arguments, as given
	// ConsoleLog is where the raw console goes (always kept).
	ConsoleLog string
	Ready      workload.Ready
	Workload   string
	Dir        string
	// Idle ends the run when the console has been quiet this long after
	// the last syscall (app-elfloader does not power off after the app's
	// exit_group). Zero: no idle end.
	Idle time.Duration
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
)

// Result is how a unikernel run went.
type Result struct {
	VMM   []string // the final qemu command line
	Accel string   // "kvm" or "tcg"
	// Fallback is why KVM was left for TCG, when it was.
	Fallback string
	Ended    string
	// Detail says more about the end: the crash or boot failure line,
	// qemu's error, the debug-exit code.
	Detail      string
	Unikraft    string // version from the banner
	WorkloadErr error
	Events      int
	Syscalls    int
	QEMUExit    int
	Elapsed     time.Duration
}

// kvmFailures are what qemu prints when KVM cannot run the guest; on
// nested paravirtual KVM, Unikraft's boot code hits the first two.
var kvmFailures = []string{"KVM internal error", "emulation failure", "failed to set MSR", "kvm run failed", "Failed to get \"msrs\""}

// bootFailures are console messages that mean the unikernel did not boot,
// not that the app failed.
var bootFailures = []string{"Could not initialize the HWRNG", "returned error", "Failed to initialize", "Unhandled page fault", "Unikraft crash", "Assertion failure"}

// KVMUsable reports whether /dev/kvm can be opened for KVM.
func KVMUsable() bool {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// Args builds the qemu argv (without the binary) for accel "kvm" or "tcg"
// and a QMP socket path.
func Args(cfg Config, accel, qmpPath string) []string {
	mem := cfg.Memory
	if mem == "" {
		mem = "256M"
	}
	args := []string{
		"-display", "none", "-no-reboot", "-m", mem,
		"-serial", "stdio", "-monitor", "none",
		"-device", "pvpanic", "-action", "panic=exit-failure",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-qmp", "unix:" + qmpPath + ",server=on,wait=off", "-S",
		"-kernel", cfg.Image,
	}
	if accel == "kvm" {
		args = append(args, "-enable-kvm", "-cpu", "host")
	} else {
		args = append(args, "-accel", "tcg", "-cpu", "max")
	}
	if cfg.Initrd != "" {
		args = append(args, "-initrd", cfg.Initrd)
	}
	if cfg.RootFS != "" {
		args = append(args, "-fsdev", "local,id=fs0,path="+cfg.RootFS+",security_model=passthrough",
			"-device", "virtio-9p-pci,fsdev=fs0,mount_tag=fs1")
	}
	if len(cfg.Ports) > 0 {
		netdev := "user,id=n0"
		for _, p := range cfg.Ports {
			host, guest, _ := strings.Cut(p, ":")
			netdev += ",hostfwd=tcp:127.0.0.1:" + host + "-:" + guest
		}
		args = append(args, "-netdev", netdev, "-device", "virtio-net-pci,netdev=n0")
	}
	if cmdline := KernelCmdline(cfg.Append, cfg.AppArgs); cmdline != "" {
		args = append(args, "-append", cmdline)
	}
	return append(args, cfg.Extra...)
}

// KernelCmdline joins kernel parameters and the app's arguments the way
// Unikraft splits them: "PARAMS -- ARGS".
func KernelCmdline(params string, appArgs []string) string {
	params = strings.TrimSpace(params)
	if len(appArgs) == 0 {
		return params
	}
	if params == "" {
		return "-- " + strings.Join(appArgs, " ")
	}
	return params + " -- " + strings.Join(appArgs, " ")
}

// Run boots the unikernel and records its console. ctx's end (timeout,
// Ctrl-C) stops qemu.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Image == "" {
		return nil, errors.New("no unikernel image")
	}
	if _, err := os.Stat(cfg.Image); err != nil {
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
	mode := cfg.KVM
	if mode == "" {
		mode = KVMAuto
	}
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
	case KVMOff:
	default:
		return nil, fmt.Errorf("--kvm %q: want auto, on or off", mode)
	}
	res, err := attempt(ctx, cfg, path, accel, mode == KVMAuto)
	if err != nil {
		return nil, err
	}
	if res.Ended == EndQEMU && accel == "kvm" && isKVMFailure(res.Detail) {
		if mode == KVMOn {
			return res, fmt.Errorf("--kvm on: KVM cannot run this guest: %s", res.Detail)
		}
		reason := "KVM cannot run this guest (" + res.Detail + "); rerun under TCG"
		if cfg.Notice != nil {
			cfg.Notice(reason)
		}
		res2, err := attempt(ctx, cfg, path, "tcg", false)
		if err != nil {
			return nil, err
		}
		res2.Fallback = res.Detail
		res = res2
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

func isKVMFailure(s string) bool {
	for _, f := range kvmFailures {
		if strings.Contains(s, f) {
			return true
		}
	}
	return false
}

// attempt is one boot. With buffer set, events are held back until the
// guest has shown it runs (a syscall, or 2 s): a KVM failure at boot then
// leaves nothing behind.
func attempt(ctx context.Context, cfg Config, qemuPath, accel string, buffer bool) (*Result, error) {
	dir, err := os.MkdirTemp("", "syscov-vm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	qmpPath := filepath.Join(dir, "qmp.sock")
	args := Args(cfg, accel, qmpPath)
	res := &Result{VMM: append([]string{qemuPath}, args...), Accel: accel}

	var console io.Writer = io.Discard
	if cfg.ConsoleLog != "" {
		f, err := os.Create(cfg.ConsoleLog)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		console = f
	}
	if cfg.Echo != nil {
		console = io.MultiWriter(console, cfg.Echo)
	}

	cmd := exec.Command(qemuPath, args...) // an argv, never a shell
	cmd.Dir = cfg.Dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	var stderrMu sync.Mutex
	kvmFailed := make(chan string, 1)
	cmd.Stderr = writerFunc(func(p []byte) (int, error) {
		stderrMu.Lock()
		stderr.Write(p)
		s := stderr.String()
		stderrMu.Unlock()
		for _, f := range kvmFailures {
			if i := strings.Index(s, f); i >= 0 && accel == "kvm" {
				line := s[i:]
				if nl := strings.IndexByte(line, '\n'); nl >= 0 {
					line = line[:nl]
				}
				select {
				case kvmFailed <- line:
				default:
				}
			}
		}
		return len(p), nil
	})
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	kill := func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	defer func() {
		kill()
		<-exited
	}()

	var evMu sync.Mutex
	var qmpEvents []string
	q, err := dialQMP(qmpPath, time.Now().Add(10*time.Second), func(name string, data map[string]any) {
		evMu.Lock()
		defer evMu.Unlock()
		if name == "SHUTDOWN" {
			reason, _ := data["reason"].(string)
			name += ":" + reason
		}
		qmpEvents = append(qmpEvents, name)
	})
	if err != nil {
		select {
		case <-exited:
			return nil, fmt.Errorf("qemu did not start: %s", strings.TrimSpace(stderr.String()))
		default:
			return nil, err
		}
	}
	defer q.close()
	if _, err := q.do("cont"); err != nil {
		return nil, err
	}

	// The console: raw to the log, parsed into events.
	var (
		mu          sync.Mutex
		lastSyscall time.Time
		lastOutput  = time.Now()
		held        []trace.Event
		holding     = buffer
		bootFail    string
		crash       string
	)
	release := func() {
		for i := range held {
			cfg.OnEvent(&held[i])
		}
		held, holding = nil, false
	}
	pr, pw := io.Pipe()
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		r, err := trace.NewReader(pr, "console", 0, trace.Options{Format: trace.FormatUnikraft, Origin: trace.OriginUnikernel, Warn: cfg.Warn})
		if err != nil {
			io.Copy(io.Discard, pr)
			return
		}
		for r.Scan() {
			ev := r.Event()
			mu.Lock()
			res.Events++
			if ev.Kind == trace.KindSyscall {
				res.Syscalls++
				lastSyscall = time.Now()
				if holding {
					release()
				}
			}
			if ev.Kind == trace.KindMessage {
				for _, f := range bootFailures {
					if strings.Contains(ev.Text, f) {
						if ev.Level == "crit" && crash == "" {
							crash = ev.Text
						}
						if bootFail == "" && res.Syscalls == 0 {
							bootFail = ev.Text
						}
					}
				}
			}
			if holding {
				held = append(held, ev.Clone())
			} else {
				cfg.OnEvent(ev)
			}
			mu.Unlock()
		}
		mu.Lock()
		res.Unikraft = r.Header().Unikraft
		mu.Unlock()
	}()
	go func() {
		br := bufio.NewReaderSize(stdout, 64<<10)
		buf := make([]byte, 32<<10)
		for {
			n, err := br.Read(buf)
			if n > 0 {
				console.Write(buf[:n])
				pw.Write(buf[:n])
				mu.Lock()
				lastOutput = time.Now()
				mu.Unlock()
			}
			if err != nil {
				pw.Close()
				return
			}
		}
	}()

	// The workload, once the guest is ready.
	workloadDone := make(chan error, 1)
	if cfg.Workload != "" || cfg.Ready.Spec != "" || cfg.Ready.Delay > 0 {
		go func() {
			if err := cfg.Ready.Wait(ctx, exited); err != nil {
				workloadDone <- err
				return
			}
			if cfg.Workload == "" {
				return
			}
			workloadDone <- workload.Run(ctx, cfg.Workload, cfg.Dir, cfg.Stdout, cfg.Stderr)
		}()
	}

	bootTimer := time.NewTimer(2 * time.Second)
	defer bootTimer.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	stopQEMU := func(why string) {
		res.Ended = why
		q.do("quit")
		select {
		case <-exited:
		case <-time.After(2 * time.Second):
			kill()
			<-exited
		}
	}
loop:
	for {
		select {
		case <-exited:
			break loop
		case line := <-kvmFailed:
			res.Ended, res.Detail = EndQEMU, line
			kill()
			<-exited
			mu.Lock()
			held = nil
			mu.Unlock()
			break loop
		case err := <-workloadDone:
			res.WorkloadErr = err
			stopQEMU(EndWorkload)
			break loop
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				res.Ended = EndTimeout
			} else {
				res.Ended = EndInterrupt
			}
			kill()
			<-exited
			break loop
		case <-bootTimer.C:
			mu.Lock()
			if holding {
				release()
			}
			mu.Unlock()
		case <-tick.C:
			if cfg.Idle > 0 {
				mu.Lock()
				idle := !lastSyscall.IsZero() && time.Since(lastSyscall) >= cfg.Idle && time.Since(lastOutput) >= cfg.Idle
				mu.Unlock()
				if idle {
					stopQEMU(EndIdle)
					break loop
				}
			}
		}
	}
	<-readerDone
	mu.Lock()
	defer mu.Unlock()
	if holding && res.Ended != EndQEMU {
		release()
	}
	res.QEMUExit = cmd.ProcessState.ExitCode()
	if res.Ended == "" {
		res.Ended, res.Detail = classifyExit(res.QEMUExit, qmpEvents, strings.TrimSpace(stderr.String()))
	}
	if bootFail != "" && res.Syscalls == 0 && res.Ended != EndQEMU {
		res.Detail = bootFail
		if res.Ended != EndTimeout && res.Ended != EndInterrupt {
			res.Ended = EndBoot
		}
	} else if crash != "" && res.Detail == "" {
		res.Detail = crash
	}
	_ = waitErr
	return res, nil
}

// classifyExit names how qemu ended from its status and the QMP events.
func classifyExit(code int, events []string, stderr string) (string, string) {
	for _, e := range events {
		switch {
		case e == "GUEST_PANICKED":
			return EndPanic, ""
		case e == "SHUTDOWN:guest-shutdown":
			return EndPowerOff, ""
		case e == "SHUTDOWN:guest-reset":
			return EndReset, ""
		}
	}
	if code == 0 {
		return EndPowerOff, ""
	}
	if code%2 == 1 && stderr == "" {
		// isa-debug-exit: the guest wrote V, qemu exits with 2V+1.
		return EndDebugExit, fmt.Sprintf("code %d", (code-1)/2)
	}
	return EndQEMU, firstLine(stderr)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
