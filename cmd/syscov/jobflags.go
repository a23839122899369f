package main

import (
	"fmt"
	"strconv"
	"strings"

	flag "github.com/spf13/pflag"

	"github.com/syscov/syscov/job"
	"github.com/syscov/syscov/trace/native"
)

// registerApps adds the flags that say which processes of a native trace
// are the app.
func registerApps(fs *flag.FlagSet, a *job.AppSelection) {
	fs.BoolVar(&a.All, "all-processes", false, "count every process of a native trace as the app's (by default launchers such as env, timeout and pyenv shims, and shells that exec the app without forking, are set aside; a shell or busybox that forks is the app)")
	fs.StringVar(&a.Only, "only", "", "the app is the process that execs the program named EXE (a base name), in a larger tree")
}

// registerUnikernel adds the unikernel flags of `syscov trace
// --unikernel` and `syscov check`: one set, one default each.
func registerUnikernel(fs *flag.FlagSet, uf *job.UnikernelOptions, imageHelp string) {
	fs.StringVar(&uf.Image, "unikernel", "", imageHelp)
	fs.StringVar(&uf.Initrd, "initrd", "", "unikernel: initrd to boot with (default: syscov packs one: the app, its ELF interpreter and libraries, /tmp)")
	fs.StringVar(&uf.Rootfs, "rootfs", "", "unikernel: host directory shared as the guest's 9p filesystem (mount tag fs1) instead of an initrd")
	fs.StringArrayVar(&uf.RootfsAdd, "rootfs-add", nil, "unikernel: also pack host file or directory SRC (at DST) into the initrd syscov packs: SRC[:DST] (repeatable)")
	fs.StringVar(&uf.Memory, "memory", "256M", "unikernel: guest memory")
	fs.StringVar(&uf.KVM, "kvm", "auto", "unikernel: auto (KVM, TCG when KVM cannot run the guest), on, off")
	fs.StringVar(&uf.CPU, "cpu", "", "unikernel: the guest CPU, as qemu's -cpu takes it (MODEL[,FEATURE=on|off…], e.g. max,avx=off,avx2=off; default: host under KVM, max under TCG)")
	fs.StringArrayVar(&uf.Ports, "port", nil, "unikernel: forward 127.0.0.1:HOST to the guest's GUEST port (HOST:GUEST, repeatable)")
	fs.StringVar(&uf.Append, "append", "", "unikernel: kernel parameters (before ' -- ' and the app's arguments; needs uklibparam in the image)")
	fs.StringVar(&uf.ConsoleLog, "console-log", "", "unikernel: where to keep the raw console (default: next to the trace)")
	fs.DurationVar(&uf.BootTimeout, "boot-timeout", job.DefaultBootTimeout, "unikernel: stop a guest that has not started the app (no syscall on its console) this long after qemu started: exit 3 (0: never)")
	fs.DurationVar(&uf.Idle, "idle", job.DefaultIdle, "unikernel: stop when the console is quiet this long after the last syscall (0: never)")
	fs.StringVar(&uf.QEMU, "qemu", "qemu-system-x86_64", "unikernel: the qemu binary")
	fs.BoolVar(&uf.Echo, "console", false, "unikernel: also copy the console to stderr as it arrives")
}

// output is where a job writes, for this command.
func (e *env) output() job.Output {
	return job.Output{Stdout: e.stdout, Stderr: e.stderr, Warn: e.warn}
}

// backendFlags are the native tracer's flags of trace and check.
type backendFlags struct {
	name       *string
	ringBuffer *string
}

func (b *backendFlags) register(fs *flag.FlagSet) {
	b.name = fs.String("backend", "auto", "native tracer: auto (eBPF where the kernel and privileges allow it and no call stack is needed, else ptrace; syscov says which), ebpf, ptrace (built in) or strace (the real strace binary)")
	b.ringBuffer = fs.String("ring-buffer", "64M", "eBPF backend: the ring buffer's size (a power of two; K, M, G suffixes); events it has no room for are counted and reported")
}

// apply sets the backend and its ring buffer on cfg.
func (b *backendFlags) apply(cfg *native.Config) error {
	switch native.Backend(*b.name) {
	case native.BackendAuto, native.BackendEBPF, native.BackendPtrace, native.BackendStrace:
		cfg.Backend = native.Backend(*b.name)
	default:
		return job.Usagef("--backend %q: want auto, ebpf, ptrace or strace", *b.name)
	}
	n, err := parseBytes(*b.ringBuffer)
	if err != nil || n < 64<<10 || n > 1<<30 {
		return job.Usagef("--ring-buffer %q: want a size from 64K to 1G", *b.ringBuffer)
	}
	cfg.RingBuffer = int(n)
	return nil
}

// parseBytes reads 4096, 64K, 64M, 1G.
func parseBytes(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"), strings.HasSuffix(s, "k"):
		mult, s = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "M"), strings.HasSuffix(s, "m"):
		mult, s = 1<<20, s[:len(s)-1]
	case strings.HasSuffix(s, "G"), strings.HasSuffix(s, "g"):
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}
