package catalog

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// runProgress prints a line per finished app, and on a terminal a status
// line under them: done/total, the apps running, the estimated time left.
type runProgress struct {
	mu      sync.Mutex
	w, out  io.Writer
	tty     bool
	total   int
	jobs    int
	done_   int
	began   time.Time
	running map[string]time.Time
	stop    chan struct{}
}

func newRunProgress(out, w io.Writer, total, jobs int) *runProgress {
	p := &runProgress{w: w, out: out, total: total, jobs: jobs, began: time.Now(), running: map[string]time.Time{}, stop: make(chan struct{})}
	if f, ok := w.(*os.File); ok {
		_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
		p.tty = err == nil
	}
	if p.tty {
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					p.mu.Lock()
					p.status()
					p.mu.Unlock()
				case <-p.stop:
					return
				}
			}
		}()
	}
	return p
}

func (p *runProgress) start(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running[name] = time.Now()
	p.status()
}

func (p *runProgress) finish(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.running, name)
	p.done_++
	p.status()
}

// line prints a finished app's line (above the status line).
func (p *runProgress) line(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	fmt.Fprintf(p.out, "[%d/%d] %s\n", p.done_+1, p.total, s)
	p.status()
}

// status draws the status line (a terminal only).
func (p *runProgress) status() {
	if !p.tty {
		return
	}
	var names []string
	for n := range p.running {
		names = append(names, n)
	}
	sort.Strings(names)
	eta := "ETA unknown"
	if p.done_ > 0 {
		per := time.Since(p.began) / time.Duration(p.done_)
		left := per * time.Duration(p.total-p.done_)
		eta = "ETA " + left.Round(time.Second).String()
	}
	pct := 0
	if p.total > 0 {
		pct = 100 * p.done_ / p.total
	}
	bar := strings.Repeat("#", pct/5) + strings.Repeat(".", 20-pct/5)
	fmt.Fprintf(p.w, "\r\x1b[K[%s] %d/%d %s; running: %s", bar, p.done_, p.total, eta, strings.Join(names, ", "))
}

func (p *runProgress) done() {
	close(p.stop)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
