package workload

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A small Redis-protocol server of ours: +PONG to every PING, and after
// failAfter answers it closes connections (a server at its limit).
func pingServer(t *testing.T, failAfter int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	answered := make(chan struct{}, 1<<20)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				rd := bufio.NewReader(c)
				for {
					line, err := rd.ReadString('\n')
					if err != nil {
						return
					}
					if failAfter > 0 && len(answered) >= failAfter {
						return
					}
					if strings.TrimSpace(line) == "PING" {
						answered <- struct{}{}
						c.Write([]byte("+PONG\r\n"))
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestLoadRedis(t *testing.T) {
	addr := pingServer(t, 0)
	res, err := Load{Proto: "redis", Addr: addr, Clients: 4, Duration: 300 * time.Millisecond}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops < 100 || res.Errors != 0 || res.OpsPerSec <= 0 || res.P50 <= 0 || res.P95 < res.P50 {
		t.Errorf("%+v", res)
	}
	// MaxOps bounds the load.
	res, _ = Load{Proto: "redis", Addr: addr, Clients: 3, Duration: 5 * time.Second, MaxOps: 50}.Run(context.Background())
	if res.Ops != 50 || res.Elapsed > 4*time.Second {
		t.Errorf("MaxOps 50: %d ops in %v", res.Ops, res.Elapsed)
	}
}

// A server that stops answering gives errors, and the first is named.
func TestLoadErrors(t *testing.T) {
	addr := pingServer(t, 20)
	res, err := Load{Proto: "redis", Addr: addr, Clients: 2, Duration: 200 * time.Millisecond}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors == 0 || res.FirstError == "" || res.Ops > 20 {
		t.Errorf("%+v", res)
	}
}

func TestLoadHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) }))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	res, err := Load{Proto: "http", Addr: addr, Clients: 2, Duration: 200 * time.Millisecond}.Run(context.Background())
	if err != nil || res.Ops < 10 || res.Errors != 0 {
		t.Errorf("%+v %v", res, err)
	}
}

// Load goes to 127.0.0.1 only, bounded.
func TestLoadRefuses(t *testing.T) {
	for _, l := range []Load{
		{Proto: "redis", Addr: "10.0.0.1:6379", Clients: 1, Duration: time.Second},
		{Proto: "redis", Addr: "127.0.0.1:6379", Clients: 0, Duration: time.Second},
		{Proto: "redis", Addr: "127.0.0.1:6379", Clients: 1, Duration: 2 * time.Hour},
		{Proto: "smtp", Addr: "127.0.0.1:6379", Clients: 1, Duration: time.Second},
	} {
		if _, err := l.Run(context.Background()); err == nil {
			t.Errorf("%+v accepted", l)
		}
	}
}
