package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/unikernel"
	"github.com/syscov/syscov/trace/workload"
)

// unikernelFlags are the flags of `syscov trace --unikernel`.
type unikernelFlags struct {
	image, initrd, rootfs, memory, kvm, appendParams, consoleLog, qemu string
	ports                                                              []string
	idle                                                               time.Duration
	echo                                                               bool
}

// Exit code of `syscov trace --unikernel` when the unikernel did not boot
// (as opposed to the app failing in it).
const exitBootFailure = 3

func runUnikernelTrace(e *env, ctx context.Context, uf unikernelFlags, appArgs []string, out string, ready workload.Ready, workloadCmd, dir string, timeout time.Duration) error {
	if out == "" {
		out = strings.TrimSuffix(filepath.Base(uf.image), filepath.Ext(uf.image)) + ".uk.trace"
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	res, err := recordUnikernel(e, ctx, uf, appArgs, out, ready, workloadCmd, dir)
	if res == nil {
		return err
	}
	switch {
	case err != nil:
		return err
	case res.Ended == unikernel.EndTimeout:
		return &exitError{exitTimeout, fmt.Errorf("timed out after %v; qemu was stopped", timeout)}
	case res.Ended == unikernel.EndInterrupt:
		return &exitError{exitInterrupt, errors.New("interrupted; qemu was stopped")}
	case res.Ended == unikernel.EndBoot:
		return &exitError{exitBootFailure, fmt.Errorf("the unikernel did not boot: %s", res.Detail)}
	case res.Ended == unikernel.EndQEMU:
		return fmt.Errorf("qemu failed: %s", res.Detail)
	case res.WorkloadErr != nil:
		return res.WorkloadErr
	}
	return nil
}

// recordUnikernel boots the image, writes the trace to out and the raw
// console next to it, and reports on stderr how the run went.
func recordUnikernel(e *env, ctx context.Context, uf unikernelFlags, appArgs []string, out string, ready workload.Ready, workloadCmd, dir string) (*unikernel.Result, error) {
	consoleLog := uf.consoleLog
	if consoleLog == "" {
		consoleLog = strings.TrimSuffix(out, ".trace") + ".console.log"
		if out == "-" {
			consoleLog = "console.log"
		}
	}
	switch uf.kvm {
	case unikernel.KVMAuto, unikernel.KVMOn, unikernel.KVMOff:
	default:
		return nil, usagef("--kvm %q: want auto, on or off", uf.kvm)
	}
	for _, p := range uf.ports {
		h, g, ok := strings.Cut(p, ":")
		if !ok || h == "" || g == "" {
			return nil, usagef("--port %q: want HOST:GUEST", p)
		}
	}
	cfg := unikernel.Config{
		QEMU: uf.qemu, Image: uf.image, Initrd: uf.initrd, RootFS: uf.rootfs, Memory: uf.memory,
		KVM: uf.kvm, Ports: uf.ports, Append: uf.appendParams, AppArgs: appArgs, ConsoleLog: consoleLog,
		Ready: ready, Workload: workloadCmd, Dir: dir, Idle: uf.idle, Stdout: os.Stderr, Stderr: os.Stderr,
		Warn:   func(se *trace.SyntaxError) { fmt.Fprintf(e.stderr, "syscov: warning: %v\n", se) },
		Notice: func(msg string) { fmt.Fprintf(e.stderr, "syscov: %s\n", msg) },
	}
	if uf.echo {
		cfg.Echo = e.stderr
	}
	hdr := trace.Header{
		Origin: trace.OriginUnikernel.String(), Arch: trace.ArchX86_64, Command: appArgs, Workload: workloadCmd,
		Tool: "syscov " + version, Start: time.Now().UTC(),
	}
	if uname := hostKernel(); uname != "" {
		hdr.HostKernel = uname
	}

	// Events go to a partial file first: the header, written last, records
	// what is only known at the end (the Unikraft version, how it ended).
	partial := out + ".partial"
	if out == "-" {
		f, err := os.CreateTemp("", "syscov-*.trace.partial")
		if err != nil {
			return nil, err
		}
		partial = f.Name()
		f.Close()
		defer os.Remove(partial)
	}
	pf, err := os.Create(partial)
	if err != nil {
		return nil, err
	}
	tw, err := trace.NewWriter(pf, hdr)
	if err != nil {
		pf.Close()
		return nil, err
	}
	tw.FlushEvery(100 * time.Millisecond)
	cfg.OnEvent = func(ev *trace.Event) { tw.Write(ev) } // errors stay in tw
	res, runErr := unikernel.Run(ctx, cfg)
	writeErr := tw.Flush()
	pf.Close()
	if res == nil {
		os.Remove(partial)
		return nil, runErr
	}
	hdr.VMM, hdr.Accel, hdr.Fallback = res.VMM, res.Accel, res.Fallback
	hdr.Unikraft, hdr.Ended, hdr.EndDetail = res.Unikraft, res.Ended, res.Detail
	if err := finishTrace(partial, out, hdr, e.stdout); err != nil {
		return nil, err
	}
	if writeErr != nil {
		return nil, writeErr
	}
	if res.Fallback != "" {
		fmt.Fprintf(e.stderr, "syscov: ran under TCG: %s\n", res.Fallback)
	}
	where := out
	if out == "-" {
		where = "stdout"
	}
	fmt.Fprintf(e.stderr, "syscov: %s on %s: %d syscalls, %d events to %s, console in %s; %s%s\n",
		filepath.Base(uf.image), strings.ToUpper(res.Accel), res.Syscalls, res.Events, where, consoleLog, res.Ended, detailSuffix(res.Detail))
	return res, runErr
}

func detailSuffix(d string) string {
	if d == "" {
		return ""
	}
	return " (" + d + ")"
}

// finishTrace writes the final trace: the full header, then the events of
// the partial file, streamed.
func finishTrace(partial, out string, hdr trace.Header, stdout io.Writer) error {
	src, err := os.Open(partial)
	if err != nil {
		return err
	}
	defer src.Close()
	var dst io.Writer = stdout
	var f *os.File
	if out != "-" {
		f, err = os.Create(out + ".tmp")
		if err != nil {
			return err
		}
		dst = f
	}
	tw, err := trace.NewWriter(dst, hdr)
	if err != nil {
		return err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Skip the partial file's header line, copy the rest.
	buf := make([]byte, 1)
	for {
		if _, err := src.Read(buf); err != nil || buf[0] == '\n' {
			break
		}
	}
	if _, err := io.Copy(dst, src); err != nil {
		return err
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return err
		}
		if err := os.Rename(out+".tmp", out); err != nil {
			return err
		}
		return os.Remove(partial)
	}
	return nil
}

func hostKernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
