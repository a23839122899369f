// Package workload runs what drives a traced app: the readiness check
// (--ready tcp:PORT, --ready-delay) and the workload command, for native
// and unikernel runs alike. It is part of the trace stage of the pipeline.
package workload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/syscov/syscov/trace/guard"
)

// Ready says when an app is ready for its workload.
type Ready struct {
	// Spec is "tcp:PORT" or "tcp:HOST:PORT" (the port accepts a
	// connection), "unix:PATH" (the socket accepts one), an http:// or
	// https:// URL (a GET answers 2xx) or "log:REGEX" (a line of the app's
	// output matches; the runner feeds LogLine). Empty: no check.
	Spec string
	// Logged is closed by the runner when a line of the app's output
	// matches a log: spec (see LogMatcher).
	Logged <-chan struct{}
	// Delay is waited first.
	Delay time.Duration
	// Timeout bounds the wait for Spec (default 30s).
	Timeout time.Duration
	// Forwarded: the port is a VMM's port forward (qemu's user network),
	// which accepts a connection before the guest does and closes it when
	// the guest refuses. Ready then needs a connection that stays open
	// (or answers) for a moment.
	Forwarded bool
	// Gate, when set, must also say yes: a unikernel is ready only once
	// its console showed a successful listen (qemu's port forward alone
	// says nothing of the guest).
	Gate func() bool
	// Root, when set, is the traced tree's first process: a tcp: port is
	// then ready only when a process of that tree listens on it (another
	// process that holds the port does not make the app ready).
	Root int
	// Member, when set, also says whether a process is the app's (a
	// daemon the app left running: its parent is gone, it is in no tree
	// of Root's).
	Member func(pid int) bool
}

// Check checks a --ready value of any kind.
func Check(spec string) error {
	switch {
	case strings.HasPrefix(spec, "tcp:"):
		_, err := Addr(spec)
		return err
	case strings.HasPrefix(spec, "unix:"):
		if len(spec) == len("unix:") {
			return fmt.Errorf("--ready %q: want unix:PATH", spec)
		}
	case strings.HasPrefix(spec, "http://"), strings.HasPrefix(spec, "https://"):
		if _, err := url.ParseRequestURI(spec); err != nil {
			return fmt.Errorf("--ready %q: %v", spec, err)
		}
	case strings.HasPrefix(spec, "log:"):
		if _, err := regexp.Compile(spec[len("log:"):]); err != nil {
			return fmt.Errorf("--ready %q: %v", spec, err)
		}
	default:
		return fmt.Errorf("--ready %q: want tcp:PORT, tcp:HOST:PORT, unix:PATH, http://… or log:REGEX", spec)
	}
	return nil
}

// LogMatcher returns, for a log: spec, a function that the runner calls
// with each line of the app's output, and the channel it closes at the
// first match; nil for other specs.
func LogMatcher(spec string) (func(line string), <-chan struct{}) {
	pat, ok := strings.CutPrefix(spec, "log:")
	if !ok {
		return nil, nil
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, nil
	}
	ch := make(chan struct{})
	var once sync.Once
	return func(line string) {
		if re.MatchString(line) {
			once.Do(func() { close(ch) })
		}
	}, ch
}

// Addr checks a tcp: --ready value and returns the address to dial.
func Addr(spec string) (string, error) {
	rest, ok := strings.CutPrefix(spec, "tcp:")
	if !ok {
		return "", fmt.Errorf("--ready %q: want tcp:PORT or tcp:HOST:PORT", spec)
	}
	host, port := "127.0.0.1", rest
	if h, p, err := net.SplitHostPort(rest); err == nil {
		host, port = h, p
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return "", fmt.Errorf("--ready %q: bad port", spec)
	}
	return net.JoinHostPort(host, port), nil
}

// Wait waits until the app is ready. It fails when ended is closed first
// (the app is gone), when the timeout passes, or when ctx ends.
func (r Ready) Wait(ctx context.Context, ended <-chan struct{}) error {
	if r.Delay > 0 {
		select {
		case <-time.After(r.Delay):
		case <-ended:
			return errors.New("the app ended before --ready-delay passed")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if r.Spec == "" {
		return nil
	}
	timeout := r.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	deadline := time.Now().Add(timeout)
	if !strings.HasPrefix(r.Spec, "tcp:") {
		return r.waitOther(ctx, ended, deadline, timeout)
	}
	addr, err := Addr(r.Spec)
	if err != nil {
		return err
	}
	for {
		if r.treeListens() && (r.Gate == nil || r.Gate()) {
			c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
			if err == nil {
				ok := !r.Forwarded || heldOpen(c)
				c.Close()
				if ok {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the app was not ready (%s) within %v", r.Spec, timeout)
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ended:
			return fmt.Errorf("the app ended before it was ready (%s)", r.Spec)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitOther waits for a unix:, http:// or log: spec.
func (r Ready) waitOther(ctx context.Context, ended <-chan struct{}, deadline time.Time, timeout time.Duration) error {
	if err := Check(r.Spec); err != nil {
		return err
	}
	client := &http.Client{Timeout: time.Second}
	for {
		switch {
		case strings.HasPrefix(r.Spec, "unix:"):
			if c, err := net.DialTimeout("unix", r.Spec[len("unix:"):], 200*time.Millisecond); err == nil {
				c.Close()
				return nil
			}
		case strings.HasPrefix(r.Spec, "log:"):
			if r.Logged == nil {
				return fmt.Errorf("--ready %s: this run does not see the app's output", r.Spec)
			}
			select {
			case <-r.Logged:
				return nil
			default:
			}
		default: // http(s)://
			if resp, err := client.Get(r.Spec); err == nil {
				io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
				resp.Body.Close()
				if resp.StatusCode >= 200 && resp.StatusCode < 300 {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the app was not ready (%s) within %v", r.Spec, timeout)
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-r.Logged:
		case <-ended:
			return fmt.Errorf("the app ended before it was ready (%s)", r.Spec)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// treeListens reports whether the traced tree listens on the port (true
// when there is no tree to ask about, or the port is on another host).
func (r Ready) treeListens() bool {
	port := PortOf(r.Spec)
	if r.Root == 0 || port == 0 {
		return true
	}
	for _, pid := range Listeners(port) {
		if InTree(pid, r.Root) || r.Member != nil && r.Member(pid) {
			return true
		}
	}
	return false
}

// heldOpen reports whether the peer keeps a connection open (or sends
// something) for 300 ms: a forward whose guest side refused closes at
// once.
func heldOpen(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var b [1]byte
	n, err := c.Read(b[:])
	if n > 0 {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Run runs a workload shell command (untraced) and kills its whole process
// group when ctx ends.
//
// The shell runs under a guard (trace/guard): whatever ends the workload
// or syscov, nothing it started is left behind.
func Run(ctx context.Context, command, dir string, stdout, stderr *os.File) error {
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	g, err := guard.Wrap(ctx, cmd)
	if err != nil {
		return err
	}
	if err := g.Start(); err != nil {
		return fmt.Errorf("workload %q: %w", command, err)
	}
	if err := g.Cmd.Wait(); err != nil {
		return fmt.Errorf("workload %q: %w", command, err)
	}
	return nil
}
