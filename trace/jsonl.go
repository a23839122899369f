package trace

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// jsonEvent is the on-disk form of an Event in a syscov trace file. Field
// names are part of the file format (README, "The syscov trace file").
type jsonEvent struct {
	Kind       string  `json:"kind"`
	PID        int     `json:"pid,omitempty"`
	TID        int     `json:"tid,omitempty"`
	Time       *int64  `json:"t,omitempty"`
	Comm       string  `json:"comm,omitempty"`
	Name       string  `json:"name,omitempty"`
	Nr         *int    `json:"nr,omitempty"`
	Arch       string  `json:"arch,omitempty"`
	Args       string  `json:"args,omitempty"`
	Ret        string  `json:"ret,omitempty"`
	RetVal     int64   `json:"retval,omitempty"`
	Errno      string  `json:"errno,omitempty"`
	Status     string  `json:"status,omitempty"`
	Duration   *int64  `json:"dur,omitempty"`
	Injected   bool    `json:"injected,omitempty"`
	CloneFlags *uint64 `json:"clone_flags,omitempty"`
	Stack      []Frame `json:"stack,omitempty"`
	Signal     string  `json:"signal,omitempty"`
	ExitCode   int     `json:"code,omitempty"`
	CoreDumped bool    `json:"core,omitempty"`
	Level      string  `json:"level,omitempty"`
	Library    string  `json:"lib,omitempty"`
	SrcFile    string  `json:"src_file,omitempty"`
	SrcLine    int     `json:"src_line,omitempty"`
	Thread     string  `json:"thread,omitempty"`
	Caller     string  `json:"caller,omitempty"`
	Text       string  `json:"text,omitempty"`
	Origin     string  `json:"origin,omitempty"`
	Src        string  `json:"src,omitempty"` // where the event was first read, file:line
}

// Writer writes a syscov trace file: JSON Lines, a header line then one
// event a line. Each Write ends with a whole line, so a trace cut short by
// a crash is readable up to its last complete event; call Flush to push
// buffered lines to the file.
type Writer struct {
	w   *bufio.Writer
	buf []byte
	hdr Header
	err error
	// KeepSource records each event's input position in the "src" field.
	KeepSource bool
	// With FlushEvery, mu guards the buffer against the flusher, which
	// stop ends.
	mu     sync.Mutex
	locked bool
	stop   chan struct{}
	done   chan struct{} // closed when the flusher has returned
}

// FlushEvery flushes buffered lines at least every d, from a goroutine
// of its own, whether or not events come: a trace written by a process
// that dies (kill -9) holds every event older than d. Close ends it.
func (w *Writer) FlushEvery(d time.Duration) { w.FlushEveryNotify(d, nil) }

// FlushEveryNotify is FlushEvery that calls failed (from the flusher's
// goroutine, once) when a flush fails: a trace that cannot be written is
// noticed within d even while no event comes (-o /dev/full, a quiet app).
func (w *Writer) FlushEveryNotify(d time.Duration, failed func(error)) {
	stop, done := make(chan struct{}), make(chan struct{})
	w.locked, w.stop, w.done = true, stop, done
	go func() {
		defer close(done)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				w.mu.Lock()
				var err error
				if w.err == nil && w.w.Buffered() > 0 {
					w.err = w.w.Flush()
					err = w.err
				}
				w.mu.Unlock()
				if err != nil && failed != nil {
					failed(err)
					failed = nil
				}
			}
		}
	}()
}

// Close stops the flusher of FlushEvery and flushes.
func (w *Writer) Close() error {
	if w.stop != nil {
		close(w.stop)
		<-w.done
		w.stop, w.done = nil, nil
	}
	return w.Flush()
}

// NewWriter writes hdr at once. Version is set to FormatVersion.
func NewWriter(w io.Writer, hdr Header) (*Writer, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	tw := &Writer{w: bw, hdr: hdr}
	hdr.Version = FormatVersion
	line, err := headerLine(hdr)
	if err != nil {
		return nil, err
	}
	if hdr.LostEvents != nil {
		// Room for the counts RewriteHeader writes at the end.
		line = append(line[:len(line)-1], bytes.Repeat([]byte(" "), headerReserve(len(hdr.LostPerCPU)))...)
		line = append(line, '\n')
	}
	if _, err := bw.Write(line); err != nil {
		return nil, err
	}
	return tw, nil
}

func headerLine(hdr Header) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(hdr); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// headerReserve is the padding a header with lost counts gets: 20 digits
// a count, for twice as many CPUs as it names.
func headerReserve(cpus int) int { return 24 * (2*cpus + 2) }

// RewriteHeader writes hdr over the header line of the trace file f,
// written by NewWriter with hdr.LostEvents set (padded for it), once the
// run has ended: the lost counts are known only then.
func RewriteHeader(f *os.File, hdr Header) error {
	hdr.Version = FormatVersion
	line, err := headerLine(hdr)
	if err != nil {
		return err
	}
	old := make([]byte, len(line)+headerReserve(len(hdr.LostPerCPU))+64)
	n, err := f.ReadAt(old, 0)
	if n == 0 && err != nil {
		return err
	}
	end := bytes.IndexByte(old[:n], '\n')
	if end < 0 || end+1 < len(line) {
		return fmt.Errorf("%s: no room in the header line for the lost counts", f.Name())
	}
	out := append(line[:len(line)-1:len(line)-1], bytes.Repeat([]byte(" "), end+1-len(line))...)
	out = append(out, '\n')
	_, err = f.WriteAt(out, 0)
	return err
}

// Write appends one event. The line is built by hand, not by
// encoding/json, which is the tracer's hot path; it reads back with
// encoding/json into the same fields (jsonEvent).
func (w *Writer) Write(ev *Event) error {
	if w.locked {
		w.mu.Lock()
		defer w.mu.Unlock()
	}
	if w.err != nil {
		return w.err
	}
	b := w.buf[:0]
	b = append(b, `{"kind":`...)
	b = appendJSONString(b, ev.Kind.String())
	b = appendInt(b, "pid", int64(ev.PID))
	if ev.TID != ev.PID {
		b = appendInt(b, "tid", int64(ev.TID))
	}
	if ev.Time != NoTime {
		b = append(b, `,"t":`...)
		b = strconv.AppendInt(b, ev.Time, 10)
	}
	b = appendStr(b, "comm", ev.Comm)
	b = appendStr(b, "name", ev.Name)
	if ev.Kind == KindSyscall {
		b = append(b, `,"nr":`...)
		b = strconv.AppendInt(b, int64(ev.Nr), 10)
	}
	b = appendStr(b, "arch", string(ev.Arch))
	b = appendStr(b, "args", ev.Args)
	b = appendStr(b, "ret", ev.Ret)
	b = appendInt(b, "retval", ev.RetVal)
	b = appendStr(b, "errno", ev.Errno)
	if ev.Kind == KindSyscall {
		b = appendStr(b, "status", ev.Status.String())
		if ev.Duration >= 0 {
			b = append(b, `,"dur":`...)
			b = strconv.AppendInt(b, int64(ev.Duration), 10)
		}
	}
	if ev.Injected {
		b = append(b, `,"injected":true`...)
	}
	if ev.HasCloneFlags {
		b = append(b, `,"clone_flags":`...)
		b = strconv.AppendUint(b, ev.CloneFlags, 10)
	}
	if len(ev.Stack) > 0 {
		b = append(b, `,"stack":[`...)
		for i, f := range ev.Stack {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			n := len(b)
			b = appendStr(b, "object", f.Object)
			b = appendStr(b, "func", f.Func)
			b = appendUint(b, "offset", f.Offset)
			b = appendUint(b, "addr", f.Addr)
			b = appendStr(b, "file", f.File)
			b = appendInt(b, "line", int64(f.Line))
			if len(b) > n { // drop the comma the first field wrote
				copy(b[n:], b[n+1:])
				b = b[:len(b)-1]
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendStr(b, "signal", ev.Signal)
	b = appendInt(b, "code", int64(ev.ExitCode))
	if ev.CoreDumped {
		b = append(b, `,"core":true`...)
	}
	b = appendStr(b, "level", ev.Level)
	b = appendStr(b, "lib", ev.Library)
	b = appendStr(b, "src_file", ev.SrcFile)
	b = appendInt(b, "src_line", int64(ev.SrcLine))
	b = appendStr(b, "thread", ev.Thread)
	b = appendStr(b, "caller", ev.Caller)
	b = appendStr(b, "text", ev.Text)
	if ev.Origin.String() != w.hdr.Origin && ev.Origin != 0 {
		b = appendStr(b, "origin", ev.Origin.String())
	}
	if w.KeepSource && ev.Pos.File != "" {
		b = appendStr(b, "src", ev.Pos.String())
	}
	b = append(b, '}', '\n')
	w.buf = b
	if _, err := w.w.Write(b); err != nil {
		w.err = err
	}
	return w.err
}

func appendStr(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendJSONString(b, v)
}

func appendInt(b []byte, key string, v int64) []byte {
	if v == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return strconv.AppendInt(b, v, 10)
}

func appendUint(b []byte, key string, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return strconv.AppendUint(b, v, 10)
}

// appendJSONString quotes s as JSON does, without HTML escaping; invalid
// UTF-8 becomes U+FFFD, as with encoding/json.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Flush writes buffered lines to the underlying writer.
func (w *Writer) Flush() error {
	if w.locked {
		w.mu.Lock()
		defer w.mu.Unlock()
	}
	if w.err != nil {
		return w.err
	}
	w.err = w.w.Flush()
	return w.err
}

type jsonlReader struct {
	lr     *lineReader
	opts   Options
	hdr    Header
	origin Origin
	tab    *SyscallTable
	ev     Event
	stats  Stats
	err    error
}

func newJSONLReader(lr *lineReader, opts Options) (Reader, error) {
	r := &jsonlReader{lr: lr, opts: opts}
	line, _, ok := lr.next()
	if !ok {
		if err := lr.ioErr(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%s: empty trace file", lr.name)
	}
	r.stats.Lines++
	if err := json.Unmarshal(line, &r.hdr); err != nil {
		return nil, fmt.Errorf("%s:1: malformed trace header: %v", lr.name, err)
	}
	if r.hdr.Version < 1 || r.hdr.Version > FormatVersion {
		return nil, fmt.Errorf("%s:1: trace format version %d, this syscov reads up to %d", lr.name, r.hdr.Version, FormatVersion)
	}
	r.origin = ParseOrigin(r.hdr.Origin)
	if r.origin == 0 {
		r.origin = opts.Origin
	}
	if r.hdr.Arch == "" {
		r.hdr.Arch = opts.Arch
	}
	r.tab = Table(r.hdr.Arch)
	r.hdr.Source = lr.name
	return r, nil
}

func (r *jsonlReader) Header() Header { return r.hdr }
func (r *jsonlReader) Stats() Stats   { return r.stats }
func (r *jsonlReader) Err() error     { return r.err }
func (r *jsonlReader) Event() *Event  { return &r.ev }
func (r *jsonlReader) Close() error   { return r.lr.close() }

func (r *jsonlReader) Scan() bool {
	for r.err == nil {
		line, tooLong, ok := r.lr.next()
		if !ok {
			r.err = r.lr.ioErr()
			return false
		}
		r.stats.Lines++
		if tooLong {
			r.warn("line longer than 16 MiB")
			continue
		}
		if len(trimSpace(line)) == 0 {
			continue
		}
		if err := r.decode(line); err != nil {
			r.warn(err.Error())
			continue
		}
		r.stats.Events++
		return true
	}
	return false
}

func (r *jsonlReader) warn(msg string) {
	r.stats.Skipped++
	se := &SyntaxError{Pos: Pos{r.lr.name, r.lr.lineNo}, Msg: msg}
	if r.opts.Strict {
		r.err = se
		return
	}
	if r.opts.Warn != nil {
		r.opts.Warn(se)
	}
}

func (r *jsonlReader) decode(line []byte) error {
	var je jsonEvent
	if err := json.Unmarshal(line, &je); err != nil {
		return fmt.Errorf("malformed event: %v", err)
	}
	kind, ok := ParseKind(je.Kind)
	if !ok {
		return fmt.Errorf("unknown event kind %q", je.Kind)
	}
	ev := Event{
		Kind: kind, Origin: r.origin, PID: je.PID, TID: je.TID, Time: NoTime, Comm: je.Comm, Arch: Arch(je.Arch),
		Name: je.Name, Nr: -1, Args: je.Args, Ret: je.Ret, RetVal: je.RetVal, Errno: je.Errno,
		Duration: -1, Injected: je.Injected, Stack: je.Stack, Signal: je.Signal,
		ExitCode: je.ExitCode, CoreDumped: je.CoreDumped, Level: je.Level, Library: je.Library,
		SrcFile: je.SrcFile, SrcLine: je.SrcLine, Thread: je.Thread, Caller: je.Caller, Text: je.Text,
		Pos: Pos{r.lr.name, r.lr.lineNo},
	}
	if ev.TID == 0 {
		ev.TID = ev.PID
	}
	switch {
	case je.CloneFlags != nil:
		ev.CloneFlags, ev.HasCloneFlags = *je.CloneFlags, true
	case kind == KindSyscall && (je.Name == "clone" || je.Name == "clone3"):
		// A file from before the field (or written by hand): its text.
		ev.CloneFlags, ev.HasCloneFlags = ParseCloneFlags(je.Name, je.Args)
	}
	if je.Origin != "" {
		if o := ParseOrigin(je.Origin); o != 0 {
			ev.Origin = o
		}
	}
	if je.Time != nil {
		ev.Time = *je.Time
	}
	if je.Duration != nil {
		if *je.Duration < 0 {
			// Kept, with the duration unknown; the line is malformed.
			r.warn(fmt.Sprintf("negative duration %d ns: taken as unknown", *je.Duration))
		} else {
			ev.Duration = time.Duration(*je.Duration)
		}
	}
	if kind == KindSyscall {
		if je.Name == "" && je.Nr == nil {
			return fmt.Errorf("syscall event without name or nr")
		}
		if je.Nr != nil {
			ev.Nr = *je.Nr
		} else {
			ev.Nr = r.tab.Number(je.Name)
		}
		if ev.Name == "" {
			ev.Name, _ = r.tab.Name(ev.Nr)
			if ev.Name == "" {
				ev.Name = "syscall_" + strconv.Itoa(ev.Nr)
			}
		}
		st, ok := ParseStatus(je.Status)
		if !ok {
			if je.Status != "" {
				return fmt.Errorf("unknown status %q", je.Status)
			}
			st = StatusOK
			if ev.Errno != "" {
				st = StatusError
			}
		}
		ev.Status = st
	}
	r.ev = ev
	return nil
}
