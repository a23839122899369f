package workload

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/syscov/syscov/trace"
)

// Listeners returns the processes that hold a TCP socket listening on
// port (IPv4 or IPv6, any address), from /proc/net/tcp{,6} and the
// socket inodes in /proc/PID/fd.
func Listeners(port int) []int {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		for _, ino := range listeningInodes(f, port) {
			inodes[ino] = true
		}
	}
	if len(inodes) == 0 {
		return nil
	}
	var pids []int
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join("/proc", p.Name(), "fd"))
		for _, fd := range fds {
			l, err := os.Readlink(filepath.Join("/proc", p.Name(), "fd", fd.Name()))
			if err == nil && strings.HasPrefix(l, "socket:[") && inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// listeningInodes reads the inodes of the sockets in LISTEN state (0A) on
// port in one /proc/net/tcp file.
func listeningInodes(file string, port int) []string {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	want := fmt.Sprintf(":%04X", port)
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != "0A" || !strings.HasSuffix(fields[1], want) {
			continue
		}
		out = append(out, fields[9])
	}
	return out
}

// InTree reports whether pid is root or one of its descendants.
func InTree(pid, root int) bool {
	for i := 0; i < 64 && pid > 1; i++ {
		if pid == root {
			return true
		}
		pid = trace.ParentPID(pid)
	}
	return pid == root
}

// Comm is a process's command name, for messages.
func Comm(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

// PortOf returns the port of a tcp: ready spec on this host (0 when the
// spec names another host).
func PortOf(spec string) int {
	addr, err := Addr(spec)
	if err != nil {
		return 0
	}
	host, port, _ := strings.Cut(addr, "]:")
	if strings.HasPrefix(addr, "[") {
		host = strings.TrimPrefix(host, "[")
	} else {
		i := strings.LastIndexByte(addr, ':')
		host, port = addr[:i], addr[i+1:]
	}
	switch host {
	case "127.0.0.1", "localhost", "::1", "0.0.0.0", "::":
	default:
		if !strings.HasPrefix(host, "127.") {
			return 0
		}
	}
	n, _ := strconv.Atoi(port)
	return n
}

// Holders describes the processes listening on port ("pid 12 (redis-server)").
func Holders(pids []int) string {
	var parts []string
	for _, p := range pids {
		parts = append(parts, fmt.Sprintf("pid %d (%s)", p, Comm(p)))
	}
	return strings.Join(parts, ", ")
}
