package trace

import (
	"bytes"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func readConsole(t testing.TB, text string) ([]Event, []*SyntaxError, Header) {
	t.Helper()
	var warns []*SyntaxError
	r, err := NewReader(strings.NewReader(text), "console", 0, Options{Format: FormatUnikraft, Arch: ArchX86_64, Warn: func(se *SyntaxError) { warns = append(warns, se) }})
	if err != nil {
		t.Fatal(err)
	}
	var evs []Event
	for r.Scan() {
		evs = append(evs, r.Event().Clone())
	}
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	return evs, warns, r.Header()
}

// ukBrief renders what a console line-form test checks.
func ukBrief(ev Event) string {
	switch ev.Kind {
	case KindSyscall:
		s := "syscall " + ev.Name + "(" + ev.Args + ") ret=" + ev.Ret + " status=" + ev.Status.String()
		if ev.Errno != "" {
			s += " errno=" + ev.Errno
		}
		if ev.Nr >= 0 {
			s += " nr=" + strconv.Itoa(ev.Nr)
		}
		if ev.Text != "" {
			s += " note=" + ev.Text
		}
		return s + " @" + strconv.Itoa(ev.Pos.Line)
	case KindMessage:
		s := "message " + ev.Level + " [" + ev.Library + "]"
		if ev.Thread != "" {
			s += " thread=" + ev.Thread
		}
		if ev.Caller != "" {
			s += " caller=" + ev.Caller
		}
		if ev.SrcFile != "" {
			s += " <" + ev.SrcFile + ":" + strconv.Itoa(ev.SrcLine) + ">"
		}
		return s + " " + ev.Text
	case KindOutput:
		return "output " + ev.Text
	}
	return ev.Kind.String()
}

func TestUnikraftLineForms(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"plain strace-like line", `close(fd:3) = OK`, []string{"syscall close(fd:3) ret=OK status=ok nr=3 @1"}},
		{"typed results", "openat(AT_FDCWD, \"/x\", O_RDONLY) = fd:3\nmmap(va:0x0, 4096, PROT_READ, MAP_PRIVATE, fd:-1, 0) = va:0x401000\ngetpid() = pid:1",
			[]string{`syscall openat(AT_FDCWD, "/x", O_RDONLY) ret=fd:3 status=ok nr=257 @1`, "syscall mmap(va:0x0, 4096, PROT_READ, MAP_PRIVATE, fd:-1, 0) ret=va:0x401000 status=ok nr=9 @2", "syscall getpid() ret=pid:1 status=ok nr=39 @3"}},
		{"error with strerror text keyed on (-N)", `open("/x", O_RDONLY) = Datei nicht gefunden (-2)`,
			[]string{`syscall open("/x", O_RDONLY) ret=Datei nicht gefunden (-2) status=error errno=ENOENT nr=2 @1`}},
		{"ENOSYS is unsupported", `io_uring_setup(0x10, 0x4000, ...) = Function not implemented (-38)`,
			[]string{"syscall io_uring_setup(0x10, 0x4000, ...) ret=Function not implemented (-38) status=unsupported errno=ENOSYS nr=425 @1"}},
		{"CRLF and ANSI colour", "\x1b[1;34mclose\x1b[0m(\x1b[32mfd:\x1b[0m3) = \x1b[1;32mOK\x1b[0m\r\n",
			[]string{"syscall close(fd:3) ret=OK status=ok nr=3 @1"}},
		{"0.12 hex without 0x", `time(0x0, 0x0, ...) = 6424083e`, []string{"syscall time(0x0, 0x0, ...) ret=6424083e status=ok nr=201 @1"}},
		{"cut at the buffer size: result unknown", `open("/a/very/long/path", O_WRONLY|O_CREAT, 0644, more...`,
			[]string{`syscall open("/a/very/long/path", O_WRONLY|O_CREAT, 0644, more) ret= status=unknown nr=2 @1`}},
		{"empty name for an unknown number", `(0x0, 0x0, ...) = Function not implemented (-38)`,
			[]string{"syscall syscall_unknown(0x0, 0x0, ...) ret=Function not implemented (-38) status=unsupported errno=ENOSYS @1"}},
		{"app output glued before the call", `Agent::Agent()writev(0x2, 0x40008f790, ...) = 0x6c`,
			[]string{"output Agent::Agent()", "syscall writev(0x2, 0x40008f790, ...) ret=0x6c status=ok nr=20 @1"}},
		{"app output ending in letters glued to the call", `Hello, Worldwrite(fd:1, "x", 1) = 1`,
			[]string{"output Hello, World", `syscall write(fd:1, "x", 1) ret=1 status=ok nr=1 @1`}},
		{"plain app output is never a syscall", "Hello (world) = yes\n1:M 26 Nov * Ready to accept connections (port 6379)",
			[]string{"output Hello (world) = yes", "output 1:M 26 Nov * Ready to accept connections (port 6379)"}},
		{"firmware preamble and Booting from ROM glued", "\x1bc\x1b[2JSeaBIOS (version 1.16.2)\nBooting from ROM..[    0.000000] Info: [libkvmplat] <memory.c @  492> Memory 0x0-0xa0000",
			[]string{"message info [firmware] SeaBIOS (version 1.16.2)", "message info [firmware] Booting from ROM..", "message info [libkvmplat] <memory.c:492> Memory 0x0-0xa0000"}},
		{"kernel log line with timestamp, level, library, source", `[    6.343866] dbg:  [libvfscore] <main.c @  114> (int) uk_syscall_r_open((const char*) 0x400a9fab8, (int) 0x0, (mode_t) 0x0)`,
			[]string{"message dbg [libvfscore] <main.c:114> (int) uk_syscall_r_open((const char*) 0x400a9fab8, (int) 0x0, (mode_t) 0x0)"}},
		// libukprint's optional fields (lib/ukprint/print.c: print_thread,
		// print_caller), as its source prints them: no recording at hand.
		{"thread and caller fields", `Info: <main> {r:0x12a4b0,f:0x3ffefe90} [libukboot] <boot.c @   12> hi`,
			[]string{"message info [libukboot] thread=main caller=r:0x12a4b0,f:0x3ffefe90 <boot.c:12> hi"}},
		{"thread without a name is its address", `[    0.1] Warn: <0x4003a020> [libposix_process] <process.c @  281> Process PID 1 created`,
			[]string{"message warn [libposix_process] thread=0x4003a020 <process.c:281> Process PID 1 created"}},
		{"no current thread", `dbg:  <<n/a>> [libukallocbbuddy] <bbuddy.c @  549> Initialize`,
			[]string{"message dbg [libukallocbbuddy] thread=n/a <bbuddy.c:549> Initialize"}},
		{"caller without thread, thread without library", "Info: {r:0x1111,f:0x2222} [libvfscore] <main.c @   90> a\nInfo: <main> <fs.c @   12> b",
			[]string{"message info [libvfscore] caller=r:0x1111,f:0x2222 <main.c:90> a", "message info [] thread=main <fs.c:12> b"}},
		// Recorded on the 0.18 images under qemu -nographic (fixtures/unikraft/nographic-0.18-*.log).
		{"0.18 banner glued to the firmware's line", "Booting from ROM..Powered by Unikraft Helene (0.18.0~424eb3d9)\r\n",
			[]string{"message info [firmware] Booting from ROM..", "message info [ukboot] Powered by Unikraft Helene (0.18.0~424eb3d9)"}},
		{"lwip's lines after the firmware's, with NUL bytes", "Booting from ROM..\x00\x001: Set IPv4 address 10.0.2.15 mask 255.255.255.0 gw 10.0.2.2\r\nen1: Added\r\nen1: Interface is up\r\nen1: Link is down\r\nen0: Set IPv6 address 0: fe80::1 (state 1)\r\n",
			[]string{"message info [firmware] Booting from ROM..", "message info [lwip] 1: Set IPv4 address 10.0.2.15 mask 255.255.255.0 gw 10.0.2.2",
				"message info [lwip] en1: Added", "message info [lwip] en1: Interface is up", "message info [lwip] en1: Link is down", "message info [lwip] en0: Set IPv6 address 0: fe80::1 (state 1)"}},
		{"lookalikes of lwip's lines are app output", "en1: Added to the cart\n42: Interface is upside down\nab1: Set IPv4 address later",
			[]string{"output en1: Added to the cart", "output 42: Interface is upside down", "output ab1: Set IPv4 address later"}},
		{"iPXE's prompt is firmware", "Press Ctrl-B to configure iPXE (PCI 00:03.0)...\r                 \r\n",
			[]string{"message info [firmware] Press Ctrl-B to configure iPXE (PCI 00:03.0)..."}},
		{"app-elfloader cannot find the app", "ERR:  [appelfloader] <elf_load.c @  924> nonexistent: Failed to execute /nonexistent: No such file or directory\r\n",
			[]string{"message err [appelfloader] <elf_load.c:924> nonexistent: Failed to execute /nonexistent: No such file or directory"}},
		{"release 0.4 layout", `Info: [libkvmplat] setup.c @ 85   : Switch stack`,
			[]string{"message info [libkvmplat] <setup.c:85> Switch stack"}},
		{"binary request gives the number", "dbg:  [libsyscall_shim] <uk_syscall_binary.c @   88> Binary system call request \"(null)\" (1023) at ip:0x1 (arg0=0x0, arg1=0x0, ...)\n(0x0, 0x0, ...) = Function not implemented (-38)",
			[]string{`message dbg [libsyscall_shim] <uk_syscall_binary.c:88> Binary system call request "(null)" (1023) at ip:0x1 (arg0=0x0, arg1=0x0, ...)`,
				"syscall syscall_1023(0x0, 0x0, ...) ret=Function not implemented (-38) status=unsupported errno=ENOSYS nr=1023 @1"}},
		{"not available without a strace line becomes a call", `dbg:  [libsyscall_shim] <uk_syscall6_r.c @  944> syscall "rt_sigaction" is not available`,
			[]string{`message dbg [libsyscall_shim] <uk_syscall6_r.c:944> syscall "rt_sigaction" is not available`,
				`syscall rt_sigaction() ret= status=unsupported errno=ENOSYS nr=13 note=syscall "rt_sigaction" is not available @1`}},
		{"stub wording", "dbg:  [libposix_user] <user.c @ 1> System call \"pkey_alloc\" is not available (-ENOSYS)\npkey_alloc(0x0, 0x0, ...) = Function not implemented (-38)",
			[]string{`message dbg [libposix_user] <user.c:1> System call "pkey_alloc" is not available (-ENOSYS)`,
				`syscall pkey_alloc(0x0, 0x0, ...) ret=Function not implemented (-38) status=unsupported errno=ENOSYS nr=330 note=System call "pkey_alloc" is not available (-ENOSYS) @2`}},
		{"stubbed call succeeding is stubbed", "Warn: [libposix_user] <user.c @ 132> getuid() stubbed\ngetuid() = 0",
			[]string{"message warn [libposix_user] <user.c:132> getuid() stubbed", "syscall getuid() ret=0 status=stubbed nr=102 note=getuid() stubbed @2"}},
		{"STUB: fcntl(N)", "Warn: [libvfscore] <fcntl.c @ 1> STUB: fcntl(6)\nfcntl(0x3, 0x6, ...) = 0x0",
			[]string{"message warn [libvfscore] <fcntl.c:1> STUB: fcntl(6)", "syscall fcntl(0x3, 0x6, ...) ret=0x0 status=stubbed nr=72 note=STUB: fcntl(6) @2"}},
		{"unsupported clone flags: fork answered EOPNOTSUPP", "Warn: [libposix_process] <clone.c @ 402> posix_clone: Unsupported clone flags requested: 0x1200000\nclone(CLONE_CHILD_SETTID|0x11, va:0x0, NULL, NULL, va:0x0) = Operation not supported (-95)",
			[]string{"message warn [libposix_process] <clone.c:402> posix_clone: Unsupported clone flags requested: 0x1200000",
				"syscall clone(CLONE_CHILD_SETTID|0x11, va:0x0, NULL, NULL, va:0x0) ret=Operation not supported (-95) status=unsupported errno=EOPNOTSUPP nr=56 note=posix_clone: Unsupported clone flags requested: 0x1200000 @2"}},
		{"strace line through the Info: path (after 0.17)", `[    0.1] Info: [libsyscall_shim] <uk_syscall_binary.c @  155> close(fd:4) = OK`,
			[]string{"syscall close(fd:4) ret=OK status=ok nr=3 @1"}},
		{"crash line", `[    2.0] CRIT: [libkvmplat] <trap.c @  179> Unhandled page fault vaddr=0x0, error code=0x14`,
			[]string{"message crit [libkvmplat] <trap.c:179> Unhandled page fault vaddr=0x0, error code=0x14"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, warns, _ := readConsole(t, tt.in)
			for _, w := range warns {
				t.Errorf("warning %v", w)
			}
			var got []string
			for _, ev := range evs {
				if ev.Origin != OriginUnikernel || ev.PID != UnikernelPID {
					t.Errorf("event origin %v pid %d", ev.Origin, ev.PID)
				}
				got = append(got, ukBrief(ev))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(tt.want, "\n\t"))
			}
		})
	}
}

func TestUnikraftBannerVersion(t *testing.T) {
	for file, want := range map[string]string{
		"redis-elfloader-0.17.log": "Calypso (0.17.0~62132e5)",
		"helloworld-0.12.log":      "Epimetheus (0.12.0~1d7e9b4c)",
		"stubs-0.4.log":            "Titan (0.4.0~5e1c6f0)",
		"tcg-hwrng-failure.log":    "Pandora (0.15.0~689db89)",
		// Recorded (README.md).
		"nographic-0.18-sqlite3.log":       "Helene (0.18.0~424eb3d9)",
		"nographic-0.18-lwip-sqlite3.log":  "Helene (0.18.0~424eb3d9)",
		"nographic-0.18-app-not-found.log": "Helene (0.18.0~424eb3d9)",
		"nographic-0.17-app-not-found.log": "Calypso (0.17.0~eaf6fda1-custom)",
		"libukprint-thread-caller.log":     "Ijiraq (0.21.0~0123abcd)",
	} {
		data, err := os.ReadFile("../fixtures/unikraft/" + file)
		if err != nil {
			t.Fatal(err)
		}
		_, warns, hdr := readConsole(t, string(data))
		if hdr.Unikraft != want {
			t.Errorf("%s: version %q, want %q", file, hdr.Unikraft, want)
		}
		if len(warns) > 0 {
			t.Errorf("%s: warnings %v", file, warns)
		}
	}
}

// TestUnikraftRedisFixture checks the verdict-bearing calls of the Redis
// console: what is missing, what fails as unsupported, what is stubbed.
func TestUnikraftRedisFixture(t *testing.T) {
	r, err := Open("../fixtures/unikraft/redis-elfloader-0.17.log", Options{Arch: ArchX86_64, Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := map[string]string{}
	outputs := 0
	for r.Scan() {
		ev := r.Event()
		switch ev.Kind {
		case KindSyscall:
			got[ev.Name] = ev.Status.String() + " " + ev.Errno
		case KindOutput:
			outputs++
		}
	}
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	for name, want := range map[string]string{
		"rt_sigaction": "unsupported ENOSYS", "clone": "unsupported EOPNOTSUPP", "socket": "error EAFNOSUPPORT",
		"fcntl": "stubbed ", "syscall_1023": "unsupported ENOSYS", "open": "unknown ", "arch_prctl": "unsupported EINVAL",
		"writev": "ok ", "brk": "ok ",
	} {
		if got[name] != want {
			t.Errorf("%s: %q, want %q", name, got[name], want)
		}
	}
	if outputs < 3 {
		t.Errorf("%d output lines", outputs)
	}
	if hdr := r.Header(); hdr.Origin != "unikernel" {
		t.Errorf("origin %q", hdr.Origin)
	}
}

// The real 0.18 consoles under qemu -nographic: the app's output is the
// app's alone (sqlite3 printed "1"); the firmware, the glued banner and
// lwip's lines are messages.
func TestUnikraftRecorded018(t *testing.T) {
	for _, f := range []string{"nographic-0.18-sqlite3.log", "nographic-0.18-lwip-sqlite3.log"} {
		data, err := os.ReadFile("../fixtures/unikraft/" + f)
		if err != nil {
			t.Fatal(err)
		}
		evs, warns, _ := readConsole(t, string(data))
		if len(warns) > 0 {
			t.Errorf("%s: warnings %v", f, warns)
		}
		var outputs, libs []string
		syscalls := 0
		for _, ev := range evs {
			switch ev.Kind {
			case KindOutput:
				outputs = append(outputs, ev.Text)
			case KindMessage:
				libs = append(libs, ev.Library)
			case KindSyscall:
				syscalls++
			}
		}
		if !reflect.DeepEqual(outputs, []string{"1"}) {
			t.Errorf("%s: app output %q, want only sqlite3's \"1\"", f, outputs)
		}
		want := []string{"firmware", "firmware", "firmware", "firmware", "ukboot"}
		if strings.Contains(f, "lwip") {
			want = []string{"firmware", "firmware", "firmware", "firmware", "lwip", "lwip", "lwip", "ukboot"}
		}
		if !reflect.DeepEqual(libs, want) {
			t.Errorf("%s: messages from %v, want %v", f, libs, want)
		}
		if syscalls < 90 {
			t.Errorf("%s: %d syscalls", f, syscalls)
		}
	}
}

func TestSniffUnikraft(t *testing.T) {
	for _, f := range []string{"redis-elfloader-0.17.log", "helloworld-0.12.log", "ansi-color.log", "stubs-0.4.log", "tcg-hwrng-failure.log", "staging-info-path.log",
		"nographic-0.18-sqlite3.log", "nographic-0.18-lwip-sqlite3.log", "nographic-0.18-app-not-found.log", "nographic-0.18-not-executable.log", "libukprint-thread-caller.log"} {
		r, err := Open("../fixtures/unikraft/"+f, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := r.(*unikraftReader); !ok {
			t.Errorf("%s sniffed as %T", f, r)
		}
		r.Close()
	}
	r, _ := Open("../fixtures/strace/sysmix-f.strace", Options{})
	if _, ok := r.(*straceReader); !ok {
		t.Errorf("strace fixture sniffed as %T", r)
	}
	r.Close()
}

// FuzzUnikraftReader: the console reader never panics, gives every event a
// position, never makes a syscall without a name, and round-trips through
// the syscov trace format.
func FuzzUnikraftReader(f *testing.F) {
	files, _ := os.ReadDir("../fixtures/unikraft")
	for _, fi := range files {
		if strings.HasSuffix(fi.Name(), ".log") {
			data, _ := os.ReadFile("../fixtures/unikraft/" + fi.Name())
			lines := bytes.SplitAfter(data, []byte("\n"))
			for i := 0; i < len(lines); i += 10 {
				f.Add(bytes.Join(lines[i:min(i+10, len(lines))], nil))
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), "fuzz", 0, Options{Format: FormatUnikraft, Arch: ArchX86_64})
		if err != nil {
			t.Fatal(err)
		}
		var evs []Event
		for r.Scan() {
			ev := r.Event()
			if ev.Pos.Line < 1 {
				t.Fatalf("event at line %d", ev.Pos.Line)
			}
			if ev.Kind == KindSyscall && ev.Name == "" {
				t.Fatalf("syscall without a name: %+v", ev)
			}
			evs = append(evs, ev.Clone())
		}
		if r.Err() != nil {
			t.Fatal(r.Err())
		}
		_, back := roundTrip(t, r.Header(), evs)
		if len(back) != len(evs) {
			t.Fatalf("round trip: %d events in, %d out", len(evs), len(back))
		}
	})
}
