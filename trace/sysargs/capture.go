package sysargs

// CaptureKind says what of the traced memory an argument's text is made
// from: a tracer that cannot read the memory later (the eBPF backend)
// copies it at the call.
type CaptureKind uint8

const (
	CaptureNone    CaptureKind = iota
	CaptureString              // a NUL-terminated string (a path)
	CaptureFixed               // Size bytes (a struct)
	CaptureSizeArg             // as many bytes as the next argument says, at most Size
	CaptureArgv                // a NULL-terminated array of strings
)

// Capture is what to copy for one argument.
type Capture struct {
	Kind CaptureKind
	Size int
}

// Captures says, for each argument of the named syscall, what Format
// reads from memory; ok is false when it reads nothing.
func Captures(name string) (c [6]Capture, ok bool) {
	for i, k := range argKinds[name] {
		switch k {
		case aPath:
			c[i] = Capture{CaptureString, 0}
		case aBuf:
			c[i] = Capture{CaptureSizeArg, BufShown}
		case aClone3:
			c[i] = Capture{CaptureFixed, CloneArgsSize}
		case aSockaddr:
			c[i] = Capture{CaptureSizeArg, SockaddrMax}
		case aArgv:
			c[i] = Capture{CaptureArgv, 0}
		default:
			continue
		}
		ok = true
	}
	return c, ok
}

var kindNames = map[argKind]string{
	aHex: "hex", aInt: "int", aUint: "uint", aFd: "fd", aDirfd: "dirfd", aPath: "path", aBuf: "buf", aOpen: "open",
	aMode: "mode", aClone: "clone", aClone3: "clone3", aSig: "signal", aDomain: "domain", aSockT: "socktype",
	aProt: "prot", aMap: "mapflags", aArgv: "argv", aEnvp: "envp", aFcntl: "fcntl", aFutexOp: "futexop",
	aFutexVal3: "futexval3", aArchPrctl: "archprctl", aClock: "clock", aTimerFlags: "timerflags", aAtFlags: "atflags",
	aSockaddr: "sockaddr",
}

// Kinds names how each argument of the named syscall is written ("path",
// "clone", "hex", …); ok is false for the syscalls Format leaves to
// u-root's tables. Tests compare the decoded ones with strace's text.
func Kinds(name string) (kinds []string, ok bool) {
	ks, ok := argKinds[name]
	for _, k := range ks {
		kinds = append(kinds, kindNames[k])
	}
	return kinds, ok
}
