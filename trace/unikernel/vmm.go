package unikernel

import (
	"bytes"
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
)

// A VMM starts virtual machines. qemu is the one syscov has; another
// (firecracker) fits beside it by giving a Machine with the same console,
// end and stop; everything else of a run (console to events, boot failure
// and end detection, the workload, idle) is shared in Run.
type VMM interface {
	// Name is what the runner prints ("qemu").
	Name() string
	// Start boots cfg on accel ("kvm" or "tcg"). The machine runs when
	// Start returns; err is a failure to start, with the VMM's own words.
	Start(cfg Config, accel, cmdline string) (Machine, error)
}

// A Machine is one running VM.
type Machine interface {
	// Argv is the VMM command line.
	Argv() []string
	// Console is the guest's serial console; it ends when the VM does
	// (and everything the VM wrote has been read). Its reader closes it.
	Console() io.ReadCloser
	// Exited is closed when the VMM process has ended.
	Exited() <-chan struct{}
	// Quit asks the VMM to stop, and kills it after grace.
	Quit(grace time.Duration)
	// Kill stops the VMM at once.
	Kill()
	// End names how the VM ended, once Exited is closed: one of the End*
	// constants, and a detail (qemu's error, the debug-exit code).
	End() (ended, detail string, exitCode int)
	// Stderr is what the VMM printed on its stderr so far.
	Stderr() string
}

// startError is a VMM that did not start; Stderr holds its own words.
type startError struct {
	Err    error
	Stderr string
}

func (e *startError) Error() string {
	if e.Stderr != "" {
		return "qemu did not start: " + e.Stderr
	}
	return "qemu did not start: " + e.Err.Error()
}

// QEMU is qemu-system-x86_64 with the serial console on a pipe, a QMP
// socket for the guest's power-off, reset and panic, -no-reboot, pvpanic
// and isa-debug-exit.
type QEMU struct {
	Binary string // path of qemu-system-x86_64
}

// Name implements VMM.
func (QEMU) Name() string { return "qemu" }

// Args builds the qemu argv (without the binary) for accel "kvm" or "tcg",
// a QMP socket path and a kernel command line. User text reaches qemu's
// option strings only through qemuOpt, which doubles commas, so it cannot
// add options of its own.
func (QEMU) Args(cfg Config, accel, qmpPath, cmdline string) []string {
	mem := cfg.Memory
	if mem == "" {
		mem = "256M"
	}
	args := []string{
		"-display", "none", "-no-reboot", "-m", mem,
		"-serial", "stdio", "-monitor", "none",
		"-device", "pvpanic", "-action", "panic=exit-failure",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-qmp", "unix:" + qemuOpt(qmpPath) + ",server=on,wait=off", "-S",
		"-kernel", cfg.Image,
	}
	if accel == "kvm" {
		args = append(args, "-enable-kvm", "-cpu", CPUModel(cfg.CPU, accel))
	} else {
		args = append(args, "-accel", "tcg", "-cpu", CPUModel(cfg.CPU, accel))
	}
	if cfg.Initrd != "" {
		args = append(args, "-initrd", cfg.Initrd)
	}
	if cfg.RootFS != "" {
		args = append(args, "-fsdev", "local,id=fs0,path="+qemuOpt(cfg.RootFS)+",security_model=passthrough",
			"-device", "virtio-9p-pci,fsdev=fs0,mount_tag=fs1")
	}
	if len(cfg.Ports) > 0 {
		netdev := "user,id=n0"
		for _, p := range cfg.Ports {
			host, guest, _ := strings.Cut(p, ":")
			netdev += ",hostfwd=tcp:127.0.0.1:" + qemuOpt(host) + "-:" + qemuOpt(guest)
		}
		args = append(args, "-netdev", netdev, "-device", "virtio-net-pci,netdev=n0")
	}
	if cmdline != "" {
		args = append(args, "-append", cmdline)
	}
	return append(args, cfg.Extra...)
}

// CPUModel is the -cpu value of a run: the model asked for, or host
// under KVM and max under TCG. The value is qemu's own syntax (a model,
// then ,feature=on|off or +feature/-feature), passed as it is: the user
// names the guest CPU.
func CPUModel(asked, accel string) string {
	if asked != "" {
		return asked
	}
	if accel == "kvm" {
		return "host"
	}
	return "max"
}

// qemuOpt escapes a value inside a qemu option string (a comma is
// written twice).
func qemuOpt(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// Start implements VMM.
func (q QEMU) Start(cfg Config, accel, cmdline string) (Machine, error) {
	dir, err := os.MkdirTemp("", "syscov-vm-")
	if err != nil {
		return nil, err
	}
	m := &qemuMachine{dir: dir, exited: make(chan struct{})}
	qmpPath := dir + "/qmp.sock"
	// qemu reads -initrd of a multiboot kernel (Unikraft's) as a list:
	// modules split at commas, each one's arguments after a space. A
	// path with either is given through a link of our own, in the VM's
	// private directory.
	// qemu runs in cfg.Dir (the workload's directory): relative paths
	// are made absolute first.
	if cfg.Dir != "" {
		for _, p := range []*string{&cfg.Image, &cfg.Initrd, &cfg.RootFS} {
			if *p != "" {
				if abs, err := filepath.Abs(*p); err == nil {
					*p = abs
				}
			}
		}
	}
	if strings.ContainsAny(cfg.Initrd, " ,") {
		abs, err := filepath.Abs(cfg.Initrd)
		if err == nil {
			err = os.Symlink(abs, dir+"/initrd")
		}
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		cfg.Initrd = dir + "/initrd"
	}
	args := q.Args(cfg, accel, qmpPath, cmdline)
	m.argv = append([]string{q.Binary}, args...)
	cmd := exec.Command(q.Binary, args...) // an argv, never a shell
	cmd.Dir = cfg.Dir
	// The console is a pipe of our own, not cmd.StdoutPipe: Wait closes
	// that one as soon as qemu has exited, and whatever the reader had
	// not read yet (the tail of the console, on a loaded host) is lost.
	// This one ends when qemu and its children are gone; its reader
	// closes it.
	console, w, err := os.Pipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd.Stdout = w
	m.console = console
	cmd.Stderr = writerFunc(func(p []byte) (int, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.stderr.Len() < 64<<10 {
			m.stderr.Write(p)
		}
		return len(p), nil
	})
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	w.Close()
	if err != nil {
		console.Close()
		os.RemoveAll(dir)
		return nil, &startError{Err: err}
	}
	m.cmd = cmd
	go func() {
		cmd.Wait()
		close(m.exited)
	}()
	m.qmp, err = dialQMP(qmpPath, time.Now().Add(10*time.Second), m.onEvent)
	if err == nil {
		_, err = m.qmp.do("cont")
	}
	if err != nil {
		// qemu that dies at start (a KVM assertion, a bad image) closes
		// QMP a moment before it is reaped: wait for it, for its words.
		select {
		case <-m.exited:
		case <-time.After(2 * time.Second):
		}
		m.Kill()
		console.Close()
		return nil, &startError{Err: err, Stderr: strings.TrimSpace(m.Stderr())}
	}
	return m, nil
}

type qemuMachine struct {
	argv    []string
	dir     string
	cmd     *exec.Cmd
	console *os.File
	qmp     *qmp
	exited  chan struct{}

	mu     sync.Mutex
	stderr bytes.Buffer
	events []string // QMP events, SHUTDOWN with its reason
}

func (m *qemuMachine) onEvent(name string, data map[string]any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if name == "SHUTDOWN" {
		reason, _ := data["reason"].(string)
		name += ":" + reason
	}
	m.events = append(m.events, name)
}

func (m *qemuMachine) Argv() []string          { return m.argv }
func (m *qemuMachine) Console() io.ReadCloser  { return m.console }
func (m *qemuMachine) Exited() <-chan struct{} { return m.exited }

func (m *qemuMachine) Stderr() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stderr.String()
}

func (m *qemuMachine) Kill() {
	syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
	<-m.exited
	if m.qmp != nil {
		m.qmp.close()
	}
	os.RemoveAll(m.dir)
}

func (m *qemuMachine) Quit(grace time.Duration) {
	if m.qmp != nil {
		m.qmp.do("quit")
	}
	select {
	case <-m.exited:
	case <-time.After(grace):
	}
	m.Kill()
}

func (m *qemuMachine) End() (string, string, int) {
	<-m.exited
	m.mu.Lock()
	events := append([]string(nil), m.events...)
	m.mu.Unlock()
	code := m.cmd.ProcessState.ExitCode()
	if ws, ok := m.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		d := "qemu was killed by " + trace.SignalName(int(ws.Signal()))
		if last := lastLines(m.Stderr(), 2); last != "" {
			d += ": " + last
		}
		return EndQEMU, d, 128 + int(ws.Signal())
	}
	ended, detail := classifyExit(code, events, strings.TrimSpace(m.Stderr()))
	return ended, detail, code
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
	return EndQEMU, lastLines(stderr, 2)
}

// lastLines keeps the last n non-empty lines of s, joined by " / ".
func lastLines(s string, n int) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			keep = append(keep, l)
		}
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	return strings.Join(keep, " / ")
}

// isKVMFailure reports whether a VMM's words blame KVM: then TCG may run
// the guest. On nested paravirtual KVM, qemu aborts with "failed to set
// MSR" (an assertion in its kvm.c) or the guest stops with "KVM internal
// error" / "emulation failure" at its first SSE instruction.
func isKVMFailure(s string) bool {
	l := strings.ToLower(s)
	for _, f := range []string{"kvm internal error", "emulation failure", "failed to set msr", "kvm run failed", "failed to get \"msrs\"", "kvm.c", "kvm_", "/dev/kvm"} {
		if strings.Contains(l, f) {
			return true
		}
	}
	return false
}

var errNoImage = errors.New("no unikernel image")

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
