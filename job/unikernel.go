package job

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/internal/outfile"
	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/unikernel"
	"github.com/syscov/syscov/trace/workload"
)

// UnikernelOptions are the unikernel flags of `syscov trace --unikernel`
// and `syscov check`: one set, one default each.
type UnikernelOptions struct {
	// Image is the Unikraft kernel; Initrd or Rootfs (a 9p directory)
	// replace the initrd syscov packs, RootfsAdd adds SRC[:DST] to it.
	Image, Initrd, Rootfs string
	RootfsAdd             []string
	Memory, KVM           string
	// CPU is the guest CPU model (qemu's -cpu value); empty: host under
	// KVM, max under TCG.
	CPU string
	// BootTimeout stops a guest that has not started the app (no syscall
	// on its console) this long after qemu started (0: never).
	BootTimeout time.Duration
	// Append are kernel parameters, before " -- " and the app's argv.
	Append     string
	ConsoleLog string
	QEMU       string
	// Ports forward 127.0.0.1:HOST to the guest's GUEST port (HOST:GUEST).
	Ports []string
	// Idle ends a run when the console has been quiet this long after
	// the last syscall (0: never).
	Idle time.Duration
	// Echo copies the console to stderr as it arrives.
	Echo bool
	// WorkloadOut, when set, takes the workload's output (check compares
	// it with what the native runs' workloads wrote).
	WorkloadOut *os.File
}

// DefaultIdle ends a unikernel run when the console has been quiet this
// long after the last syscall: app-elfloader never powers off after the
// app's exit_group.
const DefaultIdle = 3 * time.Second

// DefaultBootTimeout stops a guest that has not started the app this
// long after qemu started: the real images make their first syscall
// within 0.3 s under TCG; an initrd of a few hundred MB takes seconds to
// unpack.
const DefaultBootTimeout = 60 * time.Second

// UnikernelPlan is what is checked and decided before any run: the image,
// the app's argv in the guest, the kernel command line, the root
// filesystem to pack.
type UnikernelPlan struct {
	Image   *unikernel.Image
	Argv    []string
	Cmdline string
	Rootfs  *unikernel.Rootfs // nil with --initrd or --rootfs
	// Hint is what is known before the run to make it fail (a non-PIE
	// program): said up front, and with the failure.
	Hint string
	// RootfsList is the list of what syscov packed (PackInitrd);
	// InitrdGiven and RootfsGiven the --initrd or --rootfs given.
	RootfsList, InitrdGiven, RootfsGiven string
	// cpuCheck, when set, is the scan of the app's code for CPU features
	// (started before the native run): its warnings are printed before
	// the unikernel boots.
	cpuCheck <-chan []CPUWarning
}

// planFor plans the unikernel run of a job: none when no image is given;
// the app's argv in the guest is appArgs when set, else argv.
func planFor(o Output, uf UnikernelOptions, argv, appArgs []string) (*UnikernelPlan, error) {
	if uf.Image == "" {
		return nil, nil
	}
	if len(appArgs) > 0 {
		argv = appArgs
	}
	plan, err := PlanUnikernel(uf, argv)
	if err != nil {
		return nil, err
	}
	plan.Warn(o)
	return plan, nil
}

// PlanUnikernel checks the flags and the image before anything runs (a
// bad image must not cost a native run first).
func PlanUnikernel(uf UnikernelOptions, appArgs []string) (*UnikernelPlan, error) {
	if _, err := unikernel.ParseMemory(uf.Memory); err != nil {
		return nil, &UsageError{"--memory: " + err.Error()}
	}
	if uf.BootTimeout < 0 {
		return nil, Usagef("--boot-timeout %v: want 0 (never) or a positive duration", uf.BootTimeout)
	}
	if uf.Idle < 0 {
		return nil, Usagef("--idle %v: want 0 (never) or a positive duration", uf.Idle)
	}
	switch uf.KVM {
	case unikernel.KVMAuto, unikernel.KVMOn, unikernel.KVMOff:
	default:
		return nil, Usagef("--kvm %q: want auto, on or off", uf.KVM)
	}
	for _, p := range uf.Ports {
		h, g, ok := strings.Cut(p, ":")
		if !ok || !isPort(h) || !isPort(g) {
			return nil, Usagef("--port %q: want HOST:GUEST, two port numbers", p)
		}
	}
	if uf.Initrd != "" && uf.Rootfs != "" {
		return nil, Usagef("--initrd and --rootfs: give one")
	}
	if len(uf.RootfsAdd) > 0 && (uf.Initrd != "" || uf.Rootfs != "") {
		return nil, Usagef("--rootfs-add adds to the initrd syscov packs: not with --initrd or --rootfs")
	}
	im, err := unikernel.InspectImage(uf.Image)
	if err != nil {
		return nil, err
	}
	p := &UnikernelPlan{Image: im, Argv: append([]string(nil), appArgs...), InitrdGiven: uf.Initrd, RootfsGiven: uf.Rootfs}
	if uf.Initrd == "" && uf.Rootfs == "" && len(appArgs) > 0 {
		p.Rootfs = unikernel.NewRootfs()
		abs, err := p.Rootfs.AddProgram(appArgs[0])
		if err != nil {
			return nil, fmt.Errorf("packing the initrd: %w", err)
		}
		p.Argv[0] = abs // the guest has no $PATH search of the host's
		for _, spec := range uf.RootfsAdd {
			src, dst, _ := strings.Cut(spec, ":")
			if err := p.Rootfs.AddTree(src, dst, "--rootfs-add"); err != nil {
				return nil, fmt.Errorf("--rootfs-add %s: %w", spec, err)
			}
		}
	}
	if p.Rootfs != nil && p.Rootfs.NotPIE != "" {
		p.Hint = p.Rootfs.NotPIE + " is not position-independent (ELF type EXEC): app-elfloader loads PIE programs only; use a build with -fPIE -pie"
	}
	if p.Cmdline, err = unikernel.KernelCmdline(im, uf.Append, p.Argv); err != nil {
		return nil, &UsageError{err.Error()}
	}
	return p, nil
}

func isPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && n <= 65535
}

// packInitrd writes the planned root filesystem as a CPIO next to the
// trace, and its list (guest path, size, why) beside it.
func (p *UnikernelPlan) PackInitrd(base string) (cpio, list string, err error) {
	cpio, list = base+".initrd.cpio", base+".rootfs.txt"
	p.RootfsList = list
	if err := WriteFileFrom(cpio, p.Rootfs.WriteCPIO); err != nil {
		return "", "", err
	}
	var b strings.Builder
	var total int64
	for _, e := range p.Rootfs.List() {
		if e.Dir {
			fmt.Fprintf(&b, "%-60s %10s  %s\n", e.Guest+"/", "dir", e.Why)
			continue
		}
		total += e.Size
		fmt.Fprintf(&b, "%-60s %10d  %s\n", e.Guest, e.Size, e.Why)
	}
	fmt.Fprintf(&b, "total %d bytes\n", total)
	return cpio, list, WriteReport(list, []byte(b.String()))
}

func RunUnikernelTrace(o Output, ctx context.Context, uf UnikernelOptions, appArgs []string, out string, ready workload.Ready, workloadCmd, dir string, timeout time.Duration) error {
	if out == "" {
		out = strings.TrimSuffix(filepath.Base(uf.Image), filepath.Ext(uf.Image)) + ".uk.trace"
	}
	unlock, err := LockOutput(out)
	if err != nil {
		return err
	}
	defer unlock()
	plan, err := PlanUnikernel(uf, appArgs)
	if err != nil {
		return err
	}
	plan.Warn(o)
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	res, err := RecordUnikernel(o, ctx, uf, plan, out, ready, workloadCmd, dir)
	if res == nil {
		return err
	}
	if err := UnikernelFailure(res, timeout); err != nil {
		explainTraceCrash(o, res, out)
		return plan.Explain(err)
	}
	return res.WorkloadErr
}

// warn says up front what will make the unikernel run fail.
func (p *UnikernelPlan) Warn(o Output) {
	if p.Hint != "" {
		fmt.Fprintf(o.Stderr, "syscov: warning: %s\n", p.Hint)
	}
}

// AppStartError is a unikernel run that booted but could not start the
// app: app-elfloader found no such program in the root filesystem, or it
// is not one it loads. Rootfs says what the root filesystem held.
type AppStartError struct {
	Ended, Path, Detail, Unikraft string
	Rootfs                        string
}

func (e *AppStartError) Error() string {
	booted := "the unikernel booted"
	if e.Unikraft != "" {
		booted += " (Unikraft " + e.Unikraft + ")"
	}
	what := "the app was not found"
	if e.Ended == unikernel.EndAppNotExec {
		what = "the app is not a program app-elfloader can run"
	}
	if e.Path != "" {
		if e.Ended == unikernel.EndAppNotExec {
			what = e.Path + " is not a program app-elfloader can run"
		} else {
			what = e.Path + " is not in its root filesystem"
		}
	}
	msg := fmt.Sprintf("%s but %s (%s: %s)", booted, what, e.Ended, e.Detail)
	if e.Rootfs != "" {
		msg += "; " + e.Rootfs
	}
	return msg
}

// rootfsSummary says what the guest's root filesystem held, for an app
// it did not find: the list syscov packed, or the initrd or directory
// given.
func (p *UnikernelPlan) rootfsSummary(path string) string {
	switch {
	case p.Rootfs != nil:
		var files []string
		var near []string
		base := filepath.Base(path)
		for _, e := range p.Rootfs.List() {
			if !e.Dir {
				files = append(files, e.Guest)
				if filepath.Base(e.Guest) == base && e.Guest != path {
					near = append(near, e.Guest)
				}
			}
		}
		s := fmt.Sprintf("the root filesystem syscov packed holds %d files", len(files))
		if p.RootfsList != "" {
			s += " (listed in " + p.RootfsList + ")"
		}
		if len(near) > 0 {
			s += ", " + base + " as " + strings.Join(near, ", ")
		} else if len(files) <= 8 {
			s += ": " + strings.Join(files, ", ")
		}
		return s
	case p.InitrdGiven != "":
		names, more, err := unikernel.CPIONames(p.InitrdGiven, 5000)
		if err != nil {
			return "the root filesystem is the initrd given (" + p.InitrdGiven + "; it cannot be listed: " + err.Error() + ")"
		}
		var near []string
		base := filepath.Base(path)
		for _, n := range names {
			if filepath.Base(n) == base && n != path {
				near = append(near, n)
			}
		}
		s := fmt.Sprintf("the root filesystem is the initrd given (%s), %d paths", p.InitrdGiven, len(names)+more)
		switch {
		case len(near) > 0:
			s += ", " + base + " as " + strings.Join(near, ", ")
		case len(names) <= 12 && more == 0:
			s += ": " + strings.Join(names, ", ")
		default:
			s += ", none named " + base + " (list them with: cpio -t < " + p.InitrdGiven + ")"
		}
		return s
	case p.RootfsGiven != "":
		return "the root filesystem is the directory given (" + p.RootfsGiven + ")"
	}
	return ""
}

// explain adds what was known before the run to its failure.
func (p *UnikernelPlan) Explain(err error) error {
	var ase *AppStartError
	if errors.As(err, &ase) && ase.Rootfs == "" {
		// app-elfloader names a program it cannot load by its base name:
		// the guest path is the argv's.
		if len(p.Argv) > 0 && !strings.HasPrefix(ase.Path, "/") && filepath.Base(p.Argv[0]) == ase.Path {
			ase.Path = p.Argv[0]
		}
		if ase.Ended == unikernel.EndAppNotFound {
			ase.Rootfs = p.rootfsSummary(ase.Path)
		}
	}
	if p.Hint == "" {
		return err
	}
	var xe *ExitError
	if errors.As(err, &xe) && xe.Err != nil {
		return &ExitError{xe.Code, fmt.Errorf("%w (%s)", xe.Err, p.Hint)}
	}
	return fmt.Errorf("%w (%s)", err, p.Hint)
}

// UnikernelFailure is the error for a unikernel run that did not give a
// usable trace: a timeout, Ctrl-C, a boot failure or crash (exit 3), qemu
// failing.
func UnikernelFailure(res *unikernel.Result, timeout time.Duration) error {
	switch res.Ended {
	case unikernel.EndTimeout:
		return &ExitError{ExitTimeout, fmt.Errorf("the unikernel run timed out after %v; qemu was stopped", timeout)}
	case unikernel.EndInterrupt:
		return &ExitError{ExitInterrupt, errors.New("interrupted; qemu was stopped")}
	case unikernel.EndBoot:
		return &ExitError{ExitBootFailure, fmt.Errorf("the unikernel did not boot: %s", res.Detail)}
	case unikernel.EndAppNotFound, unikernel.EndAppNotExec:
		return &ExitError{ExitBootFailure, &AppStartError{Ended: res.Ended, Path: res.AppPath, Detail: res.Detail, Unikraft: res.Unikraft}}
	case unikernel.EndCrash, unikernel.EndPanic:
		return &ExitError{ExitBootFailure, fmt.Errorf("the unikernel crashed after %d syscalls: %s", res.Syscalls, firstNonEmpty(res.Detail, res.Ended))}
	case unikernel.EndQEMU:
		return fmt.Errorf("qemu failed: %s", res.Detail)
	case unikernel.EndLog:
		return fmt.Errorf("the console log could not be written (%s); qemu was stopped", res.Detail)
	}
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// RecordUnikernel boots the image, writes the trace to out and the raw
// console next to it, and reports on stderr how the run went.
func RecordUnikernel(o Output, ctx context.Context, uf UnikernelOptions, plan *UnikernelPlan, out string, ready workload.Ready, workloadCmd, dir string) (*unikernel.Result, error) {
	plan.printCPUCheck(o)
	base := strings.TrimSuffix(out, ".trace")
	// A trace to stdout or to a device (-o /dev/null) is streamed there at
	// the end; the files beside it go beside "unikernel" instead (never
	// /dev/null.initrd.cpio).
	var stream io.Writer
	switch {
	case out == "-":
		stream = o.Stdout
	case outfile.IsDevice(out):
		dev, err := outfile.Create(out)
		if err != nil {
			return nil, err
		}
		defer dev.Close()
		stream = dev
	}
	if stream != nil {
		base = "unikernel"
	}
	consoleLog := uf.ConsoleLog
	if consoleLog == "" {
		consoleLog = base + ".console.log"
	}
	initrd := uf.Initrd
	var rootfsList string
	if plan.Rootfs != nil {
		var err error
		if initrd, rootfsList, err = plan.PackInitrd(base); err != nil {
			return nil, fmt.Errorf("packing the initrd: %w", err)
		}
		fmt.Fprintf(o.Stderr, "syscov: packed %d paths into %s (list in %s)\n", len(plan.Rootfs.List()), initrd, rootfsList)
	}
	ready.Forwarded = len(uf.Ports) > 0
	cfg := unikernel.Config{
		QEMU: uf.QEMU, Image: uf.Image, Inspected: plan.Image, Initrd: initrd, RootFS: uf.Rootfs, Memory: uf.Memory, CPU: uf.CPU,
		KVM: uf.KVM, Ports: uf.Ports, Append: uf.Append, AppArgs: plan.Argv, ConsoleLog: consoleLog, BootTimeout: uf.BootTimeout,
		Ready: ready, Workload: workloadCmd, Dir: dir, Idle: uf.Idle, Stdout: os.Stderr, Stderr: os.Stderr,
		Warn:   o.Warn,
		Notice: func(msg string) { fmt.Fprintf(o.Stderr, "syscov: %s\n", msg) },
	}
	if uf.WorkloadOut != nil {
		cfg.Stdout, cfg.Stderr = uf.WorkloadOut, uf.WorkloadOut
	}
	if uf.Echo {
		cfg.Echo = o.Stderr
	}
	hdr := trace.Header{
		Origin: trace.OriginUnikernel.String(), Arch: trace.ArchX86_64, Command: plan.Argv, Workload: workloadCmd,
		Tool: "syscov " + Version, Start: time.Now().UTC(),
	}
	if uname := HostKernel(); uname != "" {
		hdr.HostKernel = uname
	}

	// Events go to a partial file first: the header, written last, records
	// what is only known at the end (the Unikraft version, how it ended).
	partial := out + ".partial"
	if stream != nil {
		f, err := os.CreateTemp("", "syscov-*.trace.partial")
		if err != nil {
			return nil, err
		}
		partial = f.Name()
		f.Close()
		defer os.Remove(partial)
	}
	pf, err := CreateNew(partial)
	if err != nil {
		return nil, err
	}
	tw, err := trace.NewWriter(pf, hdr)
	if err != nil {
		pf.Close()
		return nil, err
	}
	// A trace that cannot be written ends the run, noticed within 100 ms
	// even while the guest is quiet.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	tw.FlushEveryNotify(100*time.Millisecond, func(error) { stop() })
	cfg.OnEvent = func(ev *trace.Event) {
		if tw.Write(ev) != nil {
			stop()
		}
	}
	res, runErr := unikernel.Run(ctx, cfg)
	writeErr := tw.Close()
	pf.Close()
	if res == nil {
		os.Remove(partial)
		return nil, runErr
	}
	hdr.VMM, hdr.Cmdline, hdr.Accel, hdr.Fallback = res.VMM, res.Cmdline, res.Accel, res.Fallback
	hdr.Initrd, hdr.RootfsList = initrd, rootfsList
	hdr.Unikraft, hdr.Ended, hdr.EndDetail = res.Unikraft, res.Ended, res.Detail
	finalOut := out
	if stream != nil {
		finalOut = "-"
	}
	if err := FinishTrace(partial, finalOut, hdr, stream); err != nil {
		return nil, err
	}
	if writeErr != nil {
		return nil, writeErr
	}
	where := out
	if out == "-" {
		where = "stdout"
	}
	fmt.Fprintf(o.Stderr, "syscov: %s on %s: %d syscalls, %d events to %s, console in %s; %s%s\n",
		filepath.Base(uf.Image), strings.ToUpper(res.Accel), res.Syscalls, res.Events, where, consoleLog, res.Ended, DetailSuffix(res.Detail))
	return res, runErr
}

func DetailSuffix(d string) string {
	if d == "" {
		return ""
	}
	return " (" + d + ")"
}

// FinishTrace writes the final trace: the full header, then the events of
// the partial file, streamed.
func FinishTrace(partial, out string, hdr trace.Header, stdout io.Writer) error {
	src, err := os.Open(partial)
	if err != nil {
		return err
	}
	defer src.Close()
	var dst io.Writer = stdout
	var f *os.File
	if out != "-" {
		f, err = CreateNew(out + ".tmp")
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
		if err := outfile.Rename(out+".tmp", out); err != nil {
			return err
		}
		return os.Remove(partial)
	}
	return nil
}

func HostKernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// maxPackedFile is the largest file syscov packs from what the native run
// read: the initrd is extracted into the guest's memory.
const maxPackedFile = 32 << 20

// AddNativeFiles adds to the root filesystem what the native run found
// and that existed before it started (never a file the app made: a
// database it created natively must not be there when it starts in the
// unikernel), and the directories it wrote into. It returns what it left
// out, and why.
func AddNativeFiles(r *unikernel.Rootfs, files *analyze.FileUses, start time.Time) []string {
	var skipped []string
	relDirs := map[string]string{} // a directory named relative → its guest path
	for _, u := range files.Found() {
		p := u.Path
		if r.Has(p) || p == "/" {
			continue
		}
		if pseudoFS(p) {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			continue // gone since: made and removed by the run
		}
		if bornAfter(p, start, fi.IsDir()) {
			skipped = append(skipped, p+" (made or changed by the native run)")
			continue
		}
		switch {
		case fi.IsDir():
			r.AddDir(p, "the native run looked it up")
			if u.Rel != "" && !strings.HasPrefix(u.Rel, "../") && u.Rel != "." {
				r.AddDir("/"+u.Rel, "the native run looked it up as "+u.Rel+", relative to its working directory; the guest's is /")
				relDirs[p] = "/" + u.Rel
			}
		case !fi.Mode().IsRegular():
		case fi.Size() > maxPackedFile:
			skipped = append(skipped, fmt.Sprintf("%s (%d bytes: larger than %d; add it with --rootfs-add)", p, fi.Size(), maxPackedFile))
		default:
			r.AddFile(p, p, "the native run "+u.Call+" it ("+u.First.String()+")")
			if u.Rel != "" && !strings.HasPrefix(u.Rel, "../") && !r.Has("/"+u.Rel) {
				// Named relative to the working directory: the guest's is
				// its root.
				r.AddFile(p, "/"+u.Rel, "the native run "+u.Call+" it as "+u.Rel+", relative to its working directory ("+u.First.String()+"); the guest's is /")
			}
		}
	}
	// The entries of the directories the app listed: what it finds there
	// natively it finds in the guest (one level, regular files and
	// directories, the packing's size limit).
	for _, d := range files.Listed() {
		if pseudoFS(d) || bornAfter(d, start, true) {
			continue
		}
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for i, e := range entries {
			if i == maxListedEntries {
				skipped = append(skipped, fmt.Sprintf("%s: %d entries past the first %d (add them with --rootfs-add)", d, len(entries)-i, maxListedEntries))
				break
			}
			p := path.Join(d, e.Name())
			if r.Has(p) || pseudoFS(p) {
				continue
			}
			fi, err := os.Stat(p)
			switch {
			case err != nil:
			case fi.IsDir():
				r.AddDir(p, "an entry of "+d+", which the native run listed")
				if g, ok := relDirs[d]; ok {
					r.AddDir(path.Join(g, e.Name()), "an entry of "+d+", which the native run listed")
				}
			case fi.Mode().IsRegular() && fi.Size() <= maxPackedFile && !bornAfter(p, start, false):
				r.AddFile(p, p, "an entry of "+d+", which the native run listed")
				if g, ok := relDirs[d]; ok {
					r.AddFile(p, path.Join(g, e.Name()), "an entry of "+d+", which the native run listed")
				}
			}
		}
	}
	for _, d := range files.WrittenDirs() {
		if !pseudoFS(d) {
			r.AddDir(d, "the native run wrote into it")
		}
	}
	return skipped
}

// pseudoFS: paths of the kernel's own filesystems, which an initrd cannot
// stand in for.
// maxListedEntries bounds the entries packed of one listed directory.
const maxListedEntries = 256

func pseudoFS(p string) bool {
	for _, pre := range []string{"/proc", "/sys", "/dev", "/run"} {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}

// bornAfter reports whether a file was created (statx birth time) or, on
// filesystems without one, last changed after t.
func bornAfter(p string, t time.Time, dir bool) bool {
	var sx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, p, 0, unix.STATX_BTIME|unix.STATX_CTIME|unix.STATX_MTIME, &sx); err != nil {
		return false
	}
	ts := sx.Ctime
	if sx.Mask&unix.STATX_BTIME != 0 {
		ts = sx.Btime
		// A file that existed but was written during the run has other
		// content now than the app found.
		if m := time.Unix(sx.Mtime.Sec, int64(sx.Mtime.Nsec)); !dir && !m.Before(t) {
			return true
		}
	}
	return !time.Unix(ts.Sec, int64(ts.Nsec)).Before(t)
}
