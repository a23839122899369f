// Package outfile is how syscov creates every file it writes — traces,
// console logs, initrds, reports — when it may run as root in a directory
// others can write to (a sticky /tmp, a shared --out): a file is never
// written through a link syscov did not make. A symbolic link in the
// place of an output is refused, with an error that says so; an old
// regular file is unlinked and made anew (a hard link planted there to
// another file is not written into); a whole file is written to a private
// temporary file and renamed into place.
//
// It sits below every stage of the pipeline (trace, analyze, report, job,
// cmd) and imports nothing of syscov.
package outfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// LinkError is the refusal to write through a symbolic link.
type LinkError struct {
	Path   string
	Target string
}

func (e *LinkError) Error() string {
	return fmt.Sprintf("%s is a symbolic link (to %s): syscov does not write through links it did not make; remove it or choose another name", e.Path, e.Target)
}

// RefuseLink is the error for a path that is a symbolic link, else nil:
// for a job to refuse, before anything runs, the outputs it will write.
func RefuseLink(path string) error { return refuseLink(path) }

func refuseLink(path string) error {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return nil
	}
	target, _ := os.Readlink(path)
	return &LinkError{Path: path, Target: target}
}

// Create creates path for writing (and reading back: a trace's header is
// rewritten at the end) a file that grows while syscov runs (a
// trace, a console log): with O_CREAT|O_EXCL|O_NOFOLLOW, so that nothing
// planted in its place is followed. An old regular file of that name is
// removed first; a symbolic link, a directory or any other kind of file
// is refused. Character devices and FIFOs (-o /dev/null, a named pipe)
// are opened as they are, when path itself is not a link.
func Create(path string) (*os.File, error) {
	const flags = os.O_RDWR | os.O_CREATE | os.O_EXCL | syscall.O_NOFOLLOW | syscall.O_CLOEXEC
	for try := 0; ; try++ {
		f, err := os.OpenFile(path, flags, 0o644)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrExist) || try == 3 {
			return nil, err
		}
		fi, lerr := os.Lstat(path)
		if lerr != nil {
			continue // gone since: try again
		}
		switch m := fi.Mode(); {
		case m&fs.ModeSymlink != 0:
			return nil, refuseLink(path)
		case m.IsRegular():
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%s exists and cannot be replaced: %w", path, err)
			}
		case m&fs.ModeCharDevice != 0 || m&fs.ModeNamedPipe != 0:
			return os.OpenFile(path, os.O_WRONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
		default:
			return nil, fmt.Errorf("%s exists and is not a regular file (%s): not overwritten", path, m.Type())
		}
	}
}

// Write writes a whole file, or nothing: to a private temporary file
// beside path (O_EXCL, a random name), synced, then renamed over path. A
// full disk leaves the previous file, or none, never a cut one; a
// symbolic link at path is refused.
func Write(path string, data []byte) error {
	return WriteFrom(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFrom is Write for content written by fill (an archive streamed
// from many host files, a rendered report).
func WriteFrom(path string, fill func(io.Writer) error) error {
	if err := refuseLink(path); err != nil {
		return err
	}
	if IsDevice(path) {
		// -o /dev/null, a FIFO: written as it is, never renamed over
		// (as root, a rename would replace the device with a file).
		f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		bw := bufio.NewWriter(f)
		err = fill(bw)
		if err == nil {
			err = bw.Flush()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	bw := bufio.NewWriter(f)
	err = fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Rename moves a file syscov made (tmp) into place at path, refusing a
// symbolic link there: renaming would not follow it, but a link someone
// planted is said, not silently replaced.
func Rename(tmp, path string) error {
	if err := refuseLink(path); err != nil {
		return err
	}
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s exists and is not a regular file (%s): not replaced", path, fi.Mode().Type())
	}
	return os.Rename(tmp, path)
}

// IsDevice reports whether path is (not a link to) a character device or
// a FIFO: an output syscov writes into as it is (/dev/null, a named
// pipe), never replaces, and never puts files beside.
func IsDevice(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode()&(fs.ModeCharDevice|fs.ModeNamedPipe) != 0
}

// BusyError says another syscov holds the lock of an output.
type BusyError struct {
	Output string
	Lock   string
	PID    string // the holder's process id, when it wrote one
}

func (e *BusyError) Error() string {
	who := "another syscov"
	if e.PID != "" {
		who += " (pid " + e.PID + ")"
	}
	return fmt.Sprintf("%s is being written by %s (lock %s): wait for it to end, or choose another output", e.Output, who, e.Lock)
}

// Lock takes the lock that makes syscov the one writer of an output (a
// check's --out directory, a trace file): an flock on lockPath, made with
// Create's care. A second writer gets a *BusyError at once, not a wait.
// unlock removes the lock file and releases it.
func Lock(output, lockPath string) (unlock func(), err error) {
	for try := 0; try < 10; try++ {
		f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o644)
		if err != nil {
			if lerr := refuseLink(lockPath); lerr != nil {
				return nil, lerr
			}
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			b := make([]byte, 32)
			n, _ := f.ReadAt(b, 0)
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, &BusyError{Output: output, Lock: lockPath, PID: string(trimSpace(b[:n]))}
			}
			return nil, fmt.Errorf("locking %s: %w", lockPath, err)
		}
		// The holder before us may have removed the file between our
		// open and our flock: the lock must be on the file at that path.
		var held, now syscall.Stat_t
		if syscall.Fstat(int(f.Fd()), &held) != nil || syscall.Lstat(lockPath, &now) != nil || held.Ino != now.Ino || held.Dev != now.Dev {
			f.Close()
			continue
		}
		if held.Mode&syscall.S_IFMT != syscall.S_IFREG {
			f.Close()
			return nil, fmt.Errorf("%s exists and is not a regular file: not used as a lock", lockPath)
		}
		f.Truncate(0)
		fmt.Fprintf(f, "%d\n", os.Getpid())
		return func() {
			os.Remove(lockPath)
			f.Close()
		}, nil
	}
	return nil, fmt.Errorf("locking %s: it keeps changing", lockPath)
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ' || b[len(b)-1] == 0) {
		b = b[:len(b)-1]
	}
	return b
}
