package uksource

import (
	"fmt"
	"os"
	"reflect"
	"testing"
)

// Every finding of the fixture tree: kind, library, file, the Kconfig
// conditions it holds under, what a stub returns, why a syscall is
// partial.
func TestScanFixtureTree(t *testing.T) {
	got, err := Scan(os.DirFS("../../fixtures/uksource"))
	if err != nil {
		t.Fatal(err)
	}
	var brief []string
	for _, f := range got {
		brief = append(brief, fmt.Sprint(f.Name, " ", f.Kind, " ", f.Lib, " ", f.File, " ", f.Needs, " ", f.Returns, " ", f.Note))
		if f.Line < 1 {
			t.Errorf("%+v has no line", f)
		}
	}
	want := []string{
		// Config.uk: ukmmap "depends on !LIBPOSIX_MMAP".
		"CONFIG_LIBUKMMAP excludes ukmmap lib/ukmmap/Config.uk []  CONFIG_LIBPOSIX_MMAP",
		// app-elfloader's R_U variant of the DEFINE family.
		"arch_prctl defined app-elfloader app-elfloader/syscalls/arch_prctl.c [CONFIG_APPELFLOADER_ARCH_PRCTL]  ",
		"arch_prctl provided app-elfloader app-elfloader/Makefile.uk [CONFIG_APPELFLOADER_ARCH_PRCTL]  ",
		"clock_gettime defined posix-time lib/posix-time/time.c [CONFIG_LIBPOSIX_TIME]  ",
		"clock_gettime provided posix-time lib/posix-time/Makefile.uk [CONFIG_LIBPOSIX_TIME]  ",
		"clone defined posix-process lib/posix-process/clone.c [CONFIG_LIBPOSIX_PROCESS]  ",
		"clone partial posix-process lib/posix-process/clone.c [CONFIG_LIBPOSIX_PROCESS]  posix_clone: Unsupported clone flags requested: 0x%lx; -EOPNOTSUPP when flags & ~SUPPORTED_FLAGS",
		// clone-5e: the execenv suffix.
		"clone provided posix-process lib/posix-process/Makefile.uk [CONFIG_LIBPOSIX_PROCESS]  ",
		"clone3 provided posix-process lib/posix-process/Makefile.uk [CONFIG_LIBPOSIX_PROCESS_CLONE]  ",
		// A stub that logs first: every return says "not supported".
		"execve defined posix-process lib/posix-process/wait.c [CONFIG_LIBPOSIX_PROCESS]  ",
		"execve provided posix-process lib/posix-process/Makefile.uk [CONFIG_LIBPOSIX_PROCESS]  ",
		"execve stubbed posix-process lib/posix-process/wait.c [CONFIG_LIBPOSIX_PROCESS] -ENOSYS ",
		"fcntl defined vfscore lib/vfscore/main.c [CONFIG_LIBVFSCORE]  ",
		"fcntl partial vfscore lib/vfscore/main.c [CONFIG_LIBVFSCORE]  unsupported fcntl cmd %d",
		"fcntl provided vfscore lib/vfscore/Makefile.uk [CONFIG_LIBVFSCORE]  ",
		"getpid defined posix-process lib/posix-process/clone.c [CONFIG_LIBPOSIX_PROCESS]  ",
		// A test file: built only inside its ifneq block.
		"getpid defined posix-process lib/posix-process/tests/test_process.c [CONFIG_LIBPOSIX_PROCESS (CONFIG_LIBPOSIX_PROCESS_TEST || CONFIG_LIBUKTEST_ALL)]  ",
		"getpid provided posix-process lib/posix-process/Makefile.uk [CONFIG_LIBPOSIX_PROCESS]  ",
		"getpid stubbed posix-process lib/posix-process/tests/test_process.c [CONFIG_LIBPOSIX_PROCESS (CONFIG_LIBPOSIX_PROCESS_TEST || CONFIG_LIBUKTEST_ALL)] 42 ",
		// #if CONFIG_… / #else: two implementations.
		"getppid defined posix-process lib/posix-process/wait.c [CONFIG_LIBPOSIX_PROCESS CONFIG_LIBPOSIX_PROCESS_PIDS]  ",
		"getppid defined posix-process lib/posix-process/wait.c [CONFIG_LIBPOSIX_PROCESS !CONFIG_LIBPOSIX_PROCESS_PIDS]  ",
		"getppid provided posix-process lib/posix-process/Makefile.uk [CONFIG_LIBPOSIX_PROCESS]  ",
		"getppid stubbed posix-process lib/posix-process/wait.c [CONFIG_LIBPOSIX_PROCESS !CONFIG_LIBPOSIX_PROCESS_PIDS] 0 ",
		"mmap defined posix-mmap lib/posix-mmap/mmap.c [CONFIG_LIBPOSIX_MMAP]  ",
		"mmap provided posix-mmap lib/posix-mmap/Makefile.uk [CONFIG_LIBPOSIX_MMAP]  ",
		"mprotect defined posix-mmap lib/posix-mmap/mmap.c [CONFIG_LIBPOSIX_MMAP]  ",
		"mprotect defined ukmmap lib/ukmmap/mmap.c [CONFIG_LIBUKMMAP]  ",
		"mprotect provided posix-mmap lib/posix-mmap/Makefile.uk [CONFIG_LIBPOSIX_MMAP]  ",
		"mprotect provided ukmmap lib/ukmmap/Makefile.uk [CONFIG_LIBUKMMAP]  ",
		"mprotect stubbed ukmmap lib/ukmmap/mmap.c [CONFIG_LIBUKMMAP] 0 ",
		"mremap defined ukmmap lib/ukmmap/mmap.c [CONFIG_LIBUKMMAP]  ",
		"mremap provided ukmmap lib/ukmmap/Makefile.uk [CONFIG_LIBUKMMAP]  ",
		"nanosleep defined posix-time lib/posix-time/time.c [CONFIG_LIBPOSIX_TIME]  ",
		"nanosleep provided posix-time lib/posix-time/Makefile.uk [CONFIG_LIBPOSIX_TIME]  ",
		"openat defined vfscore lib/vfscore/main.c [CONFIG_LIBVFSCORE]  ",
		"openat provided vfscore lib/vfscore/Makefile.uk [CONFIG_LIBVFSCORE]  ",
		// -ENOSYS under a condition on an argument, in the helper.
		"ppoll defined posix-poll lib/posix-poll/poll.c [CONFIG_LIBPOSIX_POLL]  ",
		"ppoll partial posix-poll lib/posix-poll/poll.c [CONFIG_LIBPOSIX_POLL]  -ENOSYS when sigmask",
		"ppoll provided posix-poll lib/posix-poll/Makefile.uk [CONFIG_LIBPOSIX_POLL]  ",
		"read defined vfscore lib/vfscore/main.c [CONFIG_LIBVFSCORE]  ",
		"read provided vfscore lib/vfscore/Makefile.uk [CONFIG_LIBVFSCORE]  ",
		// -ENOSYS on the kernel's own state, not an argument: not partial.
		"sched_yield defined posix-poll lib/posix-poll/poll.c [CONFIG_LIBPOSIX_POLL]  ",
		"sched_yield provided posix-poll lib/posix-poll/Makefile.uk [CONFIG_LIBPOSIX_POLL]  ",
		"setpgid defined posix-process lib/posix-process/clone.c [CONFIG_LIBPOSIX_PROCESS]  ",
		"setpgid stubbed posix-process lib/posix-process/clone.c [CONFIG_LIBPOSIX_PROCESS] 0 ",
		"timer_create defined posix-time lib/posix-time/time.c [CONFIG_LIBPOSIX_TIME]  ",
		"timer_create provided posix-time lib/posix-time/Makefile.uk [CONFIG_LIBPOSIX_TIME]  ",
		"timer_create stubbed posix-time lib/posix-time/time.c [CONFIG_LIBPOSIX_TIME] -ENOTSUP ",
		// Several syscalls on one UK_PROVIDED_SYSCALLS line; constant stubs.
		"wait4 defined posix-process lib/posix-process/wait.c [CONFIG_LIBPOSIX_PROCESS]  ",
		"wait4 provided posix-process lib/posix-process/Makefile.uk [CONFIG_LIBPOSIX_PROCESS]  ",
		"wait4 stubbed posix-process lib/posix-process/wait.c [CONFIG_LIBPOSIX_PROCESS] -ECHILD ",
		"waitid defined posix-process lib/posix-process/wait.c [CONFIG_LIBPOSIX_PROCESS]  ",
		"waitid provided posix-process lib/posix-process/Makefile.uk [CONFIG_LIBPOSIX_PROCESS]  ",
		"waitid stubbed posix-process lib/posix-process/wait.c [CONFIG_LIBPOSIX_PROCESS] -ECHILD ",
	}
	if !reflect.DeepEqual(brief, want) {
		t.Errorf("got\n%q\nwant\n%q", brief, want)
	}
}

// What a body does: a stub (constant returns, no work), or the
// conditions of its -ENOSYS.
func TestBodies(t *testing.T) {
	for _, tt := range []struct {
		body  string
		stub  string // "" when not a stub
		conds []string
	}{
		{"{ return 0; }", "0", nil},
		{"{ if (unlikely(pid != 0)) return -ESRCH; return 0; }", "-ESRCH, 0", nil},
		{"{ if (oldact) *oldact = (struct k_sigaction){0}; return 0; }", "0", nil},
		{"{ uk_pr_warn(\"x\"); exec_warn_argv(argv); return -ENOSYS; }", "-ENOSYS", nil},
		{"{ sched_yield_now(); return 0; }", "", nil},
		{"{ *out = compute(x); return 0; }", "", nil},
		{"{ return do_read(fd, buf, n); }", "", nil},
		{"{ switch (cmd) { case FUTEX_WAIT: return wait(u); case FUTEX_FD:\n case FUTEX_REQUEUE: return -ENOSYS; default: return -ENOSYS; } }", "", []string{"-ENOSYS when FUTEX_FD, FUTEX_REQUEUE", "-ENOSYS when other values (switch default)"}},
		{"{ if (flags & MAP_SYNC) return -EOPNOTSUPP; return map(flags); }", "", []string{"-EOPNOTSUPP when flags & MAP_SYNC"}},
		{"{ if (!self) return -ENOSYS; return id(self); }", "", nil},
	} {
		consts, ok := constantReturns(tt.body)
		if stub := fmt.Sprint(consts); ok != (tt.stub != "") || ok && stub != "["+tt.stub+"]" && len(consts) == 1 {
			t.Errorf("%s: stub %v %q, want %q", tt.body, ok, consts, tt.stub)
		}
		params := map[string]bool{"cmd": true, "flags": true, "fd": true, "pid": true, "oldact": true}
		if got := unsupportedWhen(tt.body, params); !reflect.DeepEqual(got, tt.conds) {
			t.Errorf("%s: conditions %q, want %q", tt.body, got, tt.conds)
		}
	}
}

// Make and preprocessor conditions become expressions over options.
func TestConditions(t *testing.T) {
	for in, want := range map[string]string{
		"ifeq ($(CONFIG_LIBUKMMAP),y)":                 "CONFIG_LIBUKMMAP",
		"ifneq ($(CONFIG_LIBUKMMAP),y)":                "!CONFIG_LIBUKMMAP",
		"ifneq ($(filter y,$(CONFIG_A) $(CONFIG_B)),)": "(CONFIG_A || CONFIG_B)",
		"ifeq ($(UK_ARCH),x86_64)":                     "[ifeq ($(UK_ARCH),x86_64)]",
	} {
		if got := makeCondition(in); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
	text := "a\n#if CONFIG_A && defined(CONFIG_B)\nb\n#elif CONFIG_C\nc\n#else\nd\n#endif\n#ifndef __GNUC__\ne\n#endif\n"
	conds := ppConditions(text)
	for line, want := range map[int]string{1: "[]", 3: "[CONFIG_A && CONFIG_B]", 5: "[!(CONFIG_A && CONFIG_B) && CONFIG_C]", 7: "[!(CONFIG_A && CONFIG_B) && !CONFIG_C]", 10: "[]"} {
		if got := fmt.Sprint(conds(line)); got != want {
			t.Errorf("line %d: %s, want %s", line, got, want)
		}
	}
}
