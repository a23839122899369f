package sysargs

import (
	"strconv"

	"github.com/syscov/syscov/trace"
)

// SetResult fills Ret, RetVal, Errno and Status the way strace prints them.
func SetResult(ev *trace.Event, rval int64) {
	ev.RetVal = rval
	if rval < 0 && rval >= -4095 {
		name := trace.ErrnoName(int(-rval))
		if name == "" {
			name = "E" + strconv.FormatInt(-rval, 10)
		}
		ev.Errno = name
		ev.Status = trace.StatusError
		if name == "ENOSYS" {
			ev.Status = trace.StatusUnsupported
		}
		if trace.IsRestart(name) {
			ev.Ret = "? " + name
			return
		}
		ev.RetVal = -1
		ev.Ret = "-1 " + name + " (" + trace.ErrnoDescription(name) + ")"
		return
	}
	ev.Status = trace.StatusOK
	if returnsPointer(ev.Name) {
		ev.Ret = "0x" + strconv.FormatUint(uint64(rval), 16)
	} else {
		ev.Ret = strconv.FormatInt(rval, 10)
	}
}

func returnsPointer(name string) bool {
	switch name {
	case "mmap", "brk", "mremap", "shmat":
		return true
	}
	return false
}
