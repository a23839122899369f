package job

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/trace/workload"
)

// buildPingServer compiles fixtures/src/pingserver.c, a small Redis-PING
// server of ours.
func buildPingServer(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc is not installed: cannot build the test server")
	}
	bin := filepath.Join(t.TempDir(), "pingserver")
	if out, err := exec.Command("gcc", "-O1", "-pthread", "-o", bin, "../fixtures/src/pingserver.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// The native side of bench on a server of ours: every run, every client
// count measured, the start time and peak memory taken, no breaking point;
// then the same server limited to 200 answers breaks, and bench names the
// client count and the error.
func TestBenchNative(t *testing.T) {
	srv := buildPingServer(t)
	port := freePort(t)
	spec := "tcp:" + strconv.Itoa(port)
	var stderr bytes.Buffer
	b := &Bench{Argv: []string{srv, strconv.Itoa(port)}, Ready: workload.Ready{Spec: spec, Timeout: 10 * time.Second},
		Runs: 3, Clients: []int{1, 4}, Duration: 300 * time.Millisecond, Proto: "redis"}
	rep, err := b.Run(context.Background(), Output{Stdout: os.Stdout, Stderr: &stderr})
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	n := rep.Native
	if len(n.Runs) != 3 || len(n.ReadyMs) != 3 || len(n.OpsPerSec[1]) != 3 || len(n.OpsPerSec[4]) != 3 {
		t.Fatalf("runs %d, ready %v, ops %v", len(n.Runs), n.ReadyMs, n.OpsPerSec)
	}
	for _, run := range n.Runs {
		if run.Error != "" || run.PeakRSSKiB <= 0 || run.Ready <= 0 || len(run.Loads) != 2 {
			t.Errorf("run %+v", run)
		}
	}
	if n.BreakingPoint != 0 || rep.NativeBytes <= 0 || rep.Unikernel != nil {
		t.Errorf("breaking %d, size %d", n.BreakingPoint, rep.NativeBytes)
	}
	// A server at its limit: errors at the first count past it.
	b = &Bench{Argv: []string{srv, strconv.Itoa(port), "200"}, Ready: workload.Ready{Spec: spec, Timeout: 10 * time.Second},
		Runs: 1, Clients: []int{1, 4}, Duration: 300 * time.Millisecond, Proto: "redis"}
	rep, err = b.Run(context.Background(), Output{Stdout: os.Stdout, Stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Native.BreakingPoint != 1 || rep.Native.BreakingError == "" {
		t.Errorf("breaking point %d (%q), want 1", rep.Native.BreakingPoint, rep.Native.BreakingError)
	}
}

// The unikernel side on the real lwip image with Redis: the boot timings
// in order, the loads through the port forward, and a memory bisection
// whose answers are monotone (every size from the answer up serves, every
// size below fails).
func TestBenchUnikernel(t *testing.T) {
	dir := os.Getenv("SYSCOV_UNIKRAFT_IMAGES")
	image := filepath.Join(dir, "elfloader_qemu-x86_64.lwip")
	if _, err := os.Stat(image); dir == "" || err != nil {
		t.Skip("SYSCOV_UNIKRAFT_IMAGES does not name the real Unikraft images (.ci/run sets it)")
	}
	redis, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 is not installed")
	}
	port, host := freePort(t), freePort(t)
	uf := UnikernelOptions{Image: image, Memory: "128M", KVM: "auto", QEMU: "qemu-system-x86_64", Idle: DefaultIdle,
		Append: "netdev.ip=10.0.2.15/24:10.0.2.2", Ports: []string{strconv.Itoa(host) + ":" + strconv.Itoa(port)}}
	b := &Bench{Argv: []string{redis, "--port", strconv.Itoa(port), "--save", "60", "100", "--protected-mode", "no"}, Unikernel: uf,
		Ready: workload.Ready{Spec: "tcp:" + strconv.Itoa(port), Timeout: 60 * time.Second}, Runs: 1, Clients: []int{1, 8},
		Duration: 500 * time.Millisecond, Proto: "redis", MemoryBisect: true, PrecisionMiB: 32}
	var stderr bytes.Buffer
	rep, err := b.Run(context.Background(), Output{Stdout: os.Stdout, Stderr: &stderr})
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	u := rep.Unikernel
	if u == nil || len(u.Runs) != 1 {
		t.Fatalf("unikernel side %+v\n%s", u, stderr.String())
	}
	run := u.Runs[0]
	if run.Error != "" || !(0 < run.FirstOutput && run.FirstOutput <= run.FirstSyscall && run.FirstSyscall < run.Ready) {
		t.Errorf("boot timings %v %v %v, error %q\n%s", run.FirstOutput, run.FirstSyscall, run.Ready, run.Error, stderr.String())
	}
	// The numbers themselves depend on the host (TCG, its load): only
	// that both loads ran and served.
	if len(run.Loads) != 2 || run.Loads[0].Ops == 0 || run.Loads[1].Ops == 0 {
		t.Errorf("loads %+v", run.Loads)
	}
	if rep.KernelBytes <= 0 || rep.InitrdBytes <= 0 {
		t.Errorf("sizes %d %d", rep.KernelBytes, rep.InitrdBytes)
	}
	if rep.SmallestMemoryMiB <= 0 || len(rep.MemoryTried) < 2 {
		t.Fatalf("bisection: %d MiB, tried %v", rep.SmallestMemoryMiB, rep.MemoryTried)
	}
	for mib, ok := range rep.MemoryTried {
		if ok != (mib >= rep.SmallestMemoryMiB) {
			t.Errorf("not monotone: --memory %dM served=%v, smallest %d", mib, ok, rep.SmallestMemoryMiB)
		}
	}
	// A forced failure: Redis with a password answers PING with NOAUTH,
	// in the guest as natively; bench finds it at the first client count,
	// with what the console said meanwhile.
	b.Argv = append(b.Argv, "--requirepass", "x")
	b.MemoryBisect, b.Clients, b.Unikernel.KVM = false, []int{1}, "auto"
	rep, err = b.Run(context.Background(), Output{Stdout: os.Stdout, Stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	for _, side := range []*analyze.BenchSide{rep.Native, rep.Unikernel} {
		if side.BreakingPoint != 1 || !strings.Contains(side.BreakingError, "NOAUTH") {
			t.Errorf("%s: breaking point %d (%q)", side.Name, side.BreakingPoint, side.BreakingError)
		}
	}
	if len(rep.Unikernel.BreakingConsole) == 0 {
		t.Error("no console excerpt at the breaking point")
	}
}
