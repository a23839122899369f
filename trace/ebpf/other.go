//go:build !amd64

package ebpf

import (
	"errors"
	"syscall"
)

var errArch = errors.New("the eBPF backend supports x86_64 only; use --backend ptrace or strace")

// Tracer is one command traced with eBPF (x86_64 only).
type Tracer struct{}

// Check says whether the eBPF backend can run here: never on this architecture.
func Check() error { return errArch }

// Start fails: the eBPF backend supports x86_64 only.
func Start(argv []string, opts Options) (*Tracer, error) { return nil, errArch }

func (t *Tracer) Pid() int                        { return 0 }
func (t *Tracer) Wait() (Result, error)           { return Result{}, errArch }
func (t *Tracer) Done() <-chan struct{}           { c := make(chan struct{}); close(c); return c }
func (t *Tracer) Signal(sig syscall.Signal) error { return errArch }
func (t *Tracer) Kill()                           {}

// RingSize is the ring buffer's size for a request of n bytes.
func RingSize(n int) int { return n }

// Load fails: the eBPF backend supports x86_64 only.
func Load(opts Options) (*Tracer, error) { return nil, errArch }

func (t *Tracer) Follow(pid int) error { return errArch }
func (t *Tracer) Finish()              {}
