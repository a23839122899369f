package workload

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Load is syscov's own load generator: Clients connections to Addr (on
// 127.0.0.1 only), each sending a request and reading its answer in a
// loop, for Duration or MaxOps operations in all, whichever ends first.
type Load struct {
	// Proto is what a request is: "redis" (PING, answered +PONG) or
	// "http" (GET Path, answered by a response with Content-Length).
	Proto string
	// Addr is 127.0.0.1:PORT.
	Addr     string
	Path     string // http: the path requested (default /)
	Clients  int
	Duration time.Duration
	// MaxOps bounds the operations of all clients (0: 1,000,000).
	MaxOps int
}

// LoadResult is what a load measured.
type LoadResult struct {
	Clients   int
	Ops       int
	Errors    int
	Elapsed   time.Duration
	OpsPerSec float64
	// P50 and P95 are the latencies of the operations that succeeded.
	P50, P95 time.Duration
	// FirstError is the first error a client met ("" when none).
	FirstError string
}

// CheckLoadAddr refuses an address that is not on 127.0.0.1: syscov's
// load goes only to the host side of a run it started.
func CheckLoadAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host != "127.0.0.1" && host != "localhost" {
		return fmt.Errorf("load address %s: syscov sends load to 127.0.0.1 only", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("load address %s: not a port", addr)
	}
	return nil
}

// Run runs the load; it stops by itself at Duration or MaxOps, or when
// ctx ends.
func (l Load) Run(ctx context.Context) (LoadResult, error) {
	if err := CheckLoadAddr(l.Addr); err != nil {
		return LoadResult{}, err
	}
	if l.Clients < 1 || l.Clients > 10000 {
		return LoadResult{}, fmt.Errorf("load: %d clients: want 1 to 10000", l.Clients)
	}
	if l.Duration <= 0 || l.Duration > time.Hour {
		return LoadResult{}, fmt.Errorf("load: duration %v: want up to an hour", l.Duration)
	}
	var req []byte
	switch l.Proto {
	case "redis":
		req = []byte("PING\r\n")
	case "http":
		path := l.Path
		if path == "" {
			path = "/"
		}
		req = []byte("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	default:
		return LoadResult{}, fmt.Errorf("load protocol %q: want redis or http", l.Proto)
	}
	maxOps := l.MaxOps
	if maxOps <= 0 {
		maxOps = 1_000_000
	}
	var mu sync.Mutex
	res := LoadResult{Clients: l.Clients}
	var lat []time.Duration
	var budget atomic.Int64
	budget.Store(int64(maxOps))
	ctx, cancel := context.WithTimeout(ctx, l.Duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < l.Clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine, errs, first := l.client(ctx, req, &budget)
			mu.Lock()
			defer mu.Unlock()
			lat = append(lat, mine...)
			res.Errors += errs
			if res.FirstError == "" {
				res.FirstError = first
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Ops = len(lat)
	if res.Elapsed > 0 {
		res.OpsPerSec = float64(res.Ops) / res.Elapsed.Seconds()
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		res.P50 = lat[len(lat)/2]
		res.P95 = lat[min(len(lat)-1, len(lat)*95/100)]
	}
	return res, nil
}

// client runs one connection's loop; a failed connection is counted and
// made again (a server at its limit refuses some).
func (l Load) client(ctx context.Context, req []byte, budget *atomic.Int64) (lat []time.Duration, errs int, first string) {
	deadline, _ := ctx.Deadline()
	fail := func(err error) {
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			return // the load's end, not the server's
		}
		errs++
		if first == "" {
			first = err.Error()
		}
	}
	var conn net.Conn
	var rd *bufio.Reader
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for ctx.Err() == nil {
		if budget.Add(-1) < 0 {
			return
		}
		if conn == nil {
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", l.Addr)
			if err != nil {
				fail(err)
				time.Sleep(10 * time.Millisecond)
				continue
			}
			conn, rd = c, bufio.NewReader(c)
		}
		conn.SetDeadline(deadline)
		t0 := time.Now()
		err := roundTrip(l.Proto, conn, rd, req)
		if err != nil {
			fail(err)
			conn.Close()
			conn = nil
			continue
		}
		lat = append(lat, time.Since(t0))
	}
	return lat, errs, first
}

// roundTrip sends one request and reads its whole answer.
func roundTrip(proto string, w io.Writer, rd *bufio.Reader, req []byte) error {
	if _, err := w.Write(req); err != nil {
		return err
	}
	switch proto {
	case "redis":
		line, err := rd.ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "+PONG") {
			return fmt.Errorf("redis answered %q", strings.TrimSpace(line))
		}
		return nil
	}
	// http: the status line, headers, then Content-Length bytes.
	status, err := rd.ReadString('\n')
	if err != nil {
		return err
	}
	fields := strings.Fields(status)
	if len(fields) < 2 || !strings.HasPrefix(fields[0], "HTTP/") {
		return fmt.Errorf("not an HTTP answer: %q", strings.TrimSpace(status))
	}
	length := -1
	for {
		h, err := rd.ReadString('\n')
		if err != nil {
			return err
		}
		h = strings.TrimSpace(h)
		if h == "" {
			break
		}
		if k, v, ok := strings.Cut(h, ":"); ok && strings.EqualFold(k, "content-length") {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if length < 0 {
		return errors.New("an HTTP answer without Content-Length")
	}
	if _, err := io.CopyN(io.Discard, rd, int64(length)); err != nil {
		return err
	}
	if fields[1][0] != '2' {
		return fmt.Errorf("HTTP %s", fields[1])
	}
	return nil
}
