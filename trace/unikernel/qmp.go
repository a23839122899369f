package unikernel

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"time"
)

// qmp is a minimal client of the QEMU Machine Protocol: it negotiates
// capabilities, sends commands, and passes the events it reads to a
// callback (GUEST_PANICKED, SHUTDOWN, STOP, ...).
type qmp struct {
	conn    net.Conn
	replies chan map[string]any
}

func dialQMP(path string, deadline time.Time, onEvent func(name string, data map[string]any)) (*qmp, error) {
	var conn net.Conn
	var err error
	for {
		conn, err = net.Dial("unix", path)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("qmp: %w", err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	q := &qmp{conn: conn, replies: make(chan map[string]any, 4)}
	greeting := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(conn)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		first := true
		for sc.Scan() {
			var msg map[string]any
			if json.Unmarshal(sc.Bytes(), &msg) != nil {
				continue
			}
			switch {
			case first:
				first = false
				greeting <- nil
			case msg["event"] != nil:
				name, _ := msg["event"].(string)
				data, _ := msg["data"].(map[string]any)
				onEvent(name, data)
			default:
				q.replies <- msg
			}
		}
		if first {
			greeting <- fmt.Errorf("qmp: connection closed before the greeting")
		}
		close(q.replies)
	}()
	select {
	case err := <-greeting:
		if err != nil {
			conn.Close()
			return nil, err
		}
	case <-time.After(time.Until(deadline)):
		conn.Close()
		return nil, fmt.Errorf("qmp: no greeting")
	}
	if _, err := q.do("qmp_capabilities"); err != nil {
		conn.Close()
		return nil, err
	}
	return q, nil
}

// do runs one command and waits for its reply.
func (q *qmp) do(command string) (map[string]any, error) {
	if _, err := fmt.Fprintf(q.conn, "{\"execute\":%q}\n", command); err != nil {
		return nil, err
	}
	select {
	case msg, ok := <-q.replies:
		if !ok {
			return nil, fmt.Errorf("qmp %s: connection closed", command)
		}
		if e, ok := msg["error"]; ok {
			return nil, fmt.Errorf("qmp %s: %v", command, e)
		}
		return msg, nil
	case <-time.After(5 * time.Second):
		return nil, fmt.Errorf("qmp %s: no reply", command)
	}
}

func (q *qmp) close() { q.conn.Close() }
