package trace

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Format names an input format.
type Format string

const (
	FormatAuto   Format = "auto"
	FormatStrace Format = "strace"
	FormatJSONL  Format = "syscov"
)

// ParseFormat accepts the names --input-format takes.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "", "auto":
		return FormatAuto, nil
	case "strace":
		return FormatStrace, nil
	case "syscov", "jsonl", "json":
		return FormatJSONL, nil
	case "unikraft", "console":
		return FormatUnikraft, nil
	}
	return "", fmt.Errorf("unknown input format %q (want auto, strace, unikraft or syscov)", s)
}

// Header describes a trace as a whole. syscov's trace files carry it on
// their first line; readers of other formats fill in what they can.
type Header struct {
	// Version is the trace file format version (FormatVersion).
	Version int    `json:"syscov_trace"`
	Origin  string `json:"origin,omitempty"` // native or unikernel
	Arch    Arch   `json:"arch,omitempty"`
	// Command is the traced command's argv.
	Command  []string `json:"command,omitempty"`
	Workload string   `json:"workload,omitempty"`
	// Tool is the program that recorded the trace, e.g. "syscov 0.1.0" or
	// "strace".
	Tool       string `json:"tool,omitempty"`
	Backend    string `json:"backend,omitempty"`
	HostKernel string `json:"host_kernel,omitempty"`
	// Unikraft is the version banner of a unikernel run, when known.
	Unikraft string   `json:"unikraft,omitempty"`
	VMM      []string `json:"vmm,omitempty"`
	// Cmdline is the kernel command line of a unikernel run, exactly as
	// the guest got it; Initrd the initrd it booted with, and RootfsList
	// the list of what syscov packed into it.
	Cmdline    string `json:"cmdline,omitempty"`
	Initrd     string `json:"initrd,omitempty"`
	RootfsList string `json:"rootfs_list,omitempty"`
	// Accel is how the unikernel ran: "kvm" or "tcg"; Fallback why KVM
	// was left for TCG.
	Accel    string `json:"accel,omitempty"`
	Fallback string `json:"fallback,omitempty"`
	// Ended says how the run ended ("guest powered off", "timeout", ...)
	// and EndDetail more (a crash line, a boot failure, qemu's error).
	Ended     string    `json:"ended,omitempty"`
	EndDetail string    `json:"end_detail,omitempty"`
	Start     time.Time `json:"start,omitzero"`
	// LostEvents counts the events a tracer that can lose them (the eBPF
	// backend's ring buffer) had no room for, 0 included; LostPerCPU per
	// CPU; RingBuffer is that buffer's size in bytes. The counts are known
	// at the end of the run: a trace written to a file gets them in its
	// header then (the header line is padded for it), a trace streamed to
	// stdout in a last message event.
	// Stacks says how call stacks were recorded, when they were.
	Stacks     string   `json:"stacks,omitempty"`
	LostEvents *uint64  `json:"lost_events,omitempty"`
	LostPerCPU []uint64 `json:"lost_per_cpu,omitempty"`
	RingBuffer int      `json:"ring_buffer,omitempty"`
	// Source is the input the reader read, for formats without a header.
	Source string `json:"source,omitempty"`
}

// FormatVersion is the version of the JSON Lines trace format this package
// writes. Readers accept every version up to it.
const FormatVersion = 1

// SyntaxError is a malformed input line. Readers report it and go on (or
// stop, with Options.Strict).
type SyntaxError struct {
	Pos Pos
	Msg string
	// Text is the start of the offending line (at most quoteLen bytes,
	// then "…"), when the reader has it.
	Text string
}

func (e *SyntaxError) Error() string {
	if e.Text == "" {
		return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.Pos, e.Msg, strconv.Quote(e.Text))
}

// quoteLen is how much of an offending line a SyntaxError quotes.
const quoteLen = 72

// lineStart is the start of line for SyntaxError.Text, cut at a UTF-8
// character boundary.
func lineStart(line []byte) string {
	if len(line) <= quoteLen {
		return string(line)
	}
	cut := quoteLen
	for cut > quoteLen-4 && line[cut]&0xc0 == 0x80 {
		cut--
	}
	return string(line[:cut]) + "…"
}

// Options tune a Reader.
type Options struct {
	// Format forces an input format; FormatAuto (the default) sniffs.
	Format Format
	// Strict turns the first malformed line into an error that ends the
	// read; otherwise it is passed to Warn and skipped.
	Strict bool
	// Warn receives every malformed line; nil drops them (they are still
	// counted in Stats).
	Warn func(*SyntaxError)
	// Arch is the ABI of inputs that do not say (strace text); the host's
	// when empty.
	Arch Arch
	// Origin is the origin of inputs that do not say; native when zero.
	Origin Origin
}

// Stats count what a reader has read so far.
type Stats struct {
	Lines   int // input lines read
	Events  int // events returned
	Skipped int // malformed lines skipped
}

// Reader streams the events of one trace. It is modelled on bufio.Scanner:
//
//	for r.Scan() {
//		ev := r.Event()
//		...
//	}
//	if err := r.Err(); err != nil { ... }
//
// The Event returned is owned by the Reader and valid until the next Scan.
type Reader interface {
	Scan() bool
	Event() *Event
	// Err is the first I/O error, or under Options.Strict the first syntax
	// error; nil at a clean end of input.
	Err() error
	Header() Header
	Stats() Stats
	Close() error
}

// Open opens one input: a file, a directory holding a strace -ff set, or
// the -o prefix of an -ff set (PREFIX.PID files). "-" is standard input.
func Open(path string, opts Options) (Reader, error) {
	return OpenSet([]string{path}, opts)
}

// OpenSet opens files that together make one trace: a single input as for
// Open, or the NAME.PID files of one strace -ff run.
func OpenSet(paths []string, opts Options) (Reader, error) {
	if opts.Arch == "" {
		opts.Arch = HostArch()
	}
	if opts.Origin == 0 {
		opts.Origin = OriginNative
	}
	files, err := expandSet(paths)
	if err != nil {
		return nil, err
	}
	if len(files) == 1 {
		return openOne(files[0].path, files[0].pid, opts)
	}
	readers := make([]Reader, 0, len(files))
	for _, f := range files {
		r, err := openOne(f.path, f.pid, opts)
		if err != nil {
			for _, o := range readers {
				o.Close()
			}
			return nil, err
		}
		readers = append(readers, r)
	}
	return newMergeReader(readers), nil
}

// GroupInputs splits command-line inputs into traces: consecutive NAME.PID
// files with the same NAME form one strace -ff set; every other input is a
// trace of its own.
func GroupInputs(paths []string) [][]string {
	var groups [][]string
	for i := 0; i < len(paths); {
		prefix, _, ok := ffSuffix(paths[i])
		j := i + 1
		if ok {
			for j < len(paths) {
				p, _, ok2 := ffSuffix(paths[j])
				if !ok2 || p != prefix {
					break
				}
				j++
			}
		}
		groups = append(groups, paths[i:j])
		i = j
	}
	return groups
}

type setFile struct {
	path string
	pid  int
}

// ffSuffix splits "dir/name.1234" into "dir/name" and 1234.
func ffSuffix(path string) (string, int, bool) {
	dot := strings.LastIndexByte(path, '.')
	if dot < 0 || dot == len(path)-1 || strings.ContainsRune(path[dot:], '/') {
		return "", 0, false
	}
	pid, err := strconv.Atoi(path[dot+1:])
	if err != nil || pid <= 0 {
		return "", 0, false
	}
	return path[:dot], pid, true
}

func expandSet(paths []string) ([]setFile, error) {
	if len(paths) == 0 {
		return nil, errors.New("no input")
	}
	if len(paths) > 1 {
		files := make([]setFile, 0, len(paths))
		for _, p := range paths {
			_, pid, _ := ffSuffix(p)
			files = append(files, setFile{p, pid})
		}
		return files, nil
	}
	path := paths[0]
	if path == "-" {
		return []setFile{{path, 0}}, nil
	}
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		var files []setFile
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			if _, pid, ok := ffSuffix(e.Name()); ok {
				files = append(files, setFile{filepath.Join(path, e.Name()), pid})
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: a directory without strace -ff files (NAME.PID)", path)
		}
		sort.Slice(files, func(i, j int) bool { return files[i].pid < files[j].pid })
		return files, nil
	case err == nil:
		_, pid, _ := ffSuffix(path)
		return []setFile{{path, pid}}, nil
	case errors.Is(err, os.ErrNotExist):
		matches, _ := filepath.Glob(globEscape(path) + ".*")
		var files []setFile
		for _, m := range matches {
			if p, pid, ok := ffSuffix(m); ok && p == path {
				files = append(files, setFile{m, pid})
			}
		}
		if len(files) == 0 {
			return nil, err
		}
		sort.Slice(files, func(i, j int) bool { return files[i].pid < files[j].pid })
		return files, nil
	default:
		return nil, err
	}
}

func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func openOne(path string, pid int, opts Options) (Reader, error) {
	var rc io.ReadCloser
	name := path
	if path == "-" {
		rc, name = io.NopCloser(os.Stdin), "<stdin>"
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		rc = f
	}
	r, err := NewReader(rc, name, pid, opts)
	if err != nil {
		rc.Close()
		return nil, err
	}
	return r, nil
}

// streamsOpened counts the streams decoded in this process.
var streamsOpened atomic.Int64

// StreamsOpened is how many input streams this process has decoded: the
// tests hold commands to one pass over each input with it.
func StreamsOpened() int64 { return streamsOpened.Load() }

// NewReader reads one stream named name (used in positions). pid is the
// process of inputs whose lines name none (a single strace -ff file), 0 when
// unknown. Closing the Reader closes src when it is an io.Closer.
func NewReader(src io.Reader, name string, pid int, opts Options) (Reader, error) {
	streamsOpened.Add(1)
	if opts.Arch == "" {
		opts.Arch = HostArch()
	}
	if opts.Origin == 0 {
		opts.Origin = OriginNative
	}
	lr := newLineReader(src, name)
	format := opts.Format
	if format == "" || format == FormatAuto {
		format = sniff(lr.br)
	}
	switch format {
	case FormatJSONL:
		return newJSONLReader(lr, opts)
	case FormatStrace:
		return newStraceReader(lr, pid, opts), nil
	case FormatUnikraft:
		return newUnikraftReader(lr, opts), nil
	}
	return nil, fmt.Errorf("%s: unsupported input format %q", name, format)
}

// sniff looks at the start of the input and names its format.
func sniff(br *bufio.Reader) Format {
	head, _ := br.Peek(4096)
	head = bytes.TrimLeft(head, " \t\r\n")
	if bytes.HasPrefix(head, []byte(`{"syscov_trace"`)) {
		return FormatJSONL
	}
	for _, marker := range unikraftMarkers {
		if bytes.Contains(head, []byte(marker)) {
			return FormatUnikraft
		}
	}
	// The shim's results never look like strace's: "= OK", "= fd:3",
	// "= va:0x…", "= text (-N)".
	for _, line := range bytes.Split(head, []byte("\n")) {
		line = bytes.TrimRight(stripANSI(line), "\r")
		i := bytes.LastIndex(line, []byte(") = "))
		if i < 0 {
			continue
		}
		res := line[i+4:]
		if bytes.Equal(res, []byte("OK")) || bytes.HasPrefix(res, []byte("fd:")) || bytes.HasPrefix(res, []byte("va:")) ||
			bytes.HasPrefix(res, []byte("pid:")) || (bytes.HasSuffix(res, []byte(")")) && bytes.Contains(res, []byte(" (-"))) {
			return FormatUnikraft
		}
	}
	return FormatStrace
}

// unikraftMarkers are strings only a Unikraft console has near its start.
var unikraftMarkers = []string{
	"Powered by Unikraft", "Powered by\n", "Booting from ROM", "SeaBIOS (version", "iPXE (",
	"[libkvmplat]", "[libukboot]", "[libsyscall_shim]", "[appelfloader]", "[libvfscore]",
	"Binary system call request", "Info: [lib", "dbg:  [lib", "Welcome to  _ __",
}

// lineReader hands out lines without their end-of-line, reusing one buffer.
// A line longer than maxLine is reported as too long and skipped.
type lineReader struct {
	name   string
	src    io.Reader
	br     *bufio.Reader
	long   []byte
	lineNo int
	err    error
}

const maxLine = 16 << 20

func newLineReader(src io.Reader, name string) *lineReader {
	return &lineReader{name: name, src: src, br: bufio.NewReaderSize(src, 256<<10)}
}

// next returns the next line (valid until the next call), whether it was
// cut for being too long, and false at the end of input or on error.
func (l *lineReader) next() (line []byte, tooLong bool, ok bool) {
	if l.err != nil {
		return nil, false, false
	}
	b, err := l.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		l.long = append(l.long[:0], b...)
		for err == bufio.ErrBufferFull {
			b, err = l.br.ReadSlice('\n')
			if len(l.long) < maxLine {
				l.long = append(l.long, b...)
			} else {
				tooLong = true
			}
		}
		b = l.long
	}
	if err != nil && err != bufio.ErrBufferFull {
		if err != io.EOF {
			l.err = fmt.Errorf("%s: %w", l.name, err)
			return nil, false, false
		}
		l.err = io.EOF
		if len(b) == 0 {
			return nil, false, false
		}
	}
	l.lineNo++
	b = bytes.TrimSuffix(b, []byte{'\n'})
	b = bytes.TrimSuffix(b, []byte{'\r'})
	return b, tooLong, true
}

func (l *lineReader) ioErr() error {
	if l.err == io.EOF {
		return nil
	}
	return l.err
}

func (l *lineReader) close() error {
	if c, ok := l.src.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
