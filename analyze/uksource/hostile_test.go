package uksource

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// An untrusted tree: a symlink to /dev/zero named like a C file, a FIFO
// named like one, a symlink to a source outside the tree, a file over the
// size cap. Scan reads regular files inside the tree only, never blocks,
// and names the file it refuses.
func TestScanHostileTree(t *testing.T) {
	root := t.TempDir()
	tree := filepath.Join(root, "unikraft")
	lib := filepath.Join(tree, "lib", "evil")
	if err := os.MkdirAll(lib, 0o755); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(root, "outside.c")
	os.WriteFile(outside, []byte("UK_SYSCALL_R_DEFINE(int, secret, int, a) { return 0; }\n"), 0o644)
	os.Symlink(outside, filepath.Join(lib, "link.c"))
	os.Symlink("/dev/zero", filepath.Join(lib, "zero.c"))
	if err := syscall.Mkfifo(filepath.Join(lib, "fifo.c"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(lib, "ok.c"), []byte("UK_SYSCALL_R_DEFINE(int, getpid) { return 1; }\n"), 0o644)
	findings, err := Scan(os.DirFS(tree))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range findings {
		if f.Kind == Defined {
			names = append(names, f.Name+"@"+f.File)
		}
	}
	if got := strings.Join(names, " "); got != "getpid@lib/evil/ok.c" {
		t.Errorf("findings %q, want only the regular file inside the tree", got)
	}

	big := filepath.Join(lib, "big.c")
	f, _ := os.Create(big)
	f.Truncate(MaxFile + 1)
	f.Close()
	if _, err := Scan(os.DirFS(tree)); err == nil || !strings.Contains(err.Error(), "lib/evil/big.c: larger than") {
		t.Errorf("a file over the cap: err = %v, want one naming lib/evil/big.c", err)
	}
}

// unbalancedDefines is a C file of n DEFINEs whose bodies never close.
func unbalancedDefines(n int) []byte {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "UK_SYSCALL_R_DEFINE(int, sys%d, int, a) { if (a) { return uk_sys_sys%d(a);\n", i, i)
	}
	return []byte(b.String())
}

// Unbalanced braces cost each DEFINE its own stretch of the file, not the
// rest of it: every DEFINE is still found.
func TestScanUnbalancedBraces(t *testing.T) {
	tree := t.TempDir()
	os.WriteFile(filepath.Join(tree, "many.c"), unbalancedDefines(2000), 0o644)
	findings, err := Scan(os.DirFS(tree))
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) != 2000 {
		t.Errorf("%d findings, want 2000", len(findings))
	}
}

// BenchmarkScanUnbalanced: 8k DEFINEs with unbalanced braces (quadratic
// before: 2.2 s); the time per DEFINE must not grow with their number.
func BenchmarkScanUnbalanced(b *testing.B) {
	for _, n := range []int{1000, 8000} {
		tree := b.TempDir()
		os.WriteFile(filepath.Join(tree, "many.c"), unbalancedDefines(n), 0o644)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := Scan(os.DirFS(tree)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/define")
		})
	}
}
