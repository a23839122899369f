// SPDX-License-Identifier: GPL-2.0-only
//
// syscov's eBPF tracer: every syscall of one process tree, entry and exit
// merged into one record, sent to user space through a ring buffer.
//
// The tree is a set of thread ids (traced). User space puts the exec
// helper's tid in it before the helper runs the command; sched_process_fork
// adds every task a traced task creates before the new task first runs, and
// sched_process_exit removes it: nothing of the tree runs untraced.
//
// CO-RE: the few kernel structures read here are declared below with
// preserve_access_index, and their offsets are fixed up from the running
// kernel's BTF when the program is loaded (no vmlinux.h is needed).
//
// Built by `go generate ./trace/ebpf` (bpf2go, clang); the objects are
// committed, so `go build` needs no clang.

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

struct pt_regs {
	unsigned long di, si, dx, r10, r8, r9;
} __attribute__((preserve_access_index));

typedef struct {
	int counter;
} atomic_t;

struct signal_struct {
	atomic_t live;
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
	int tgid;
	int exit_code;
	struct signal_struct *signal;
} __attribute__((preserve_access_index));

struct kernel_siginfo {
	int si_signo;
	int si_errno;
	int si_code;
} __attribute__((preserve_access_index));

char LICENSE[] SEC("license") = "GPL";

#define MAX_REGIONS 10  // execve: the path, argv's pointers, 8 arguments
#define REGION_DATA 256 // bytes kept of one string or structure
#define MAX_ARGV 8
#define MAX_NR 512

// Record types (struct event.type).
enum {
	REC_SYSCALL = 1, // a syscall, entry and exit
	REC_NORETURN,    // a syscall that does not return (exit, exit_group)
	REC_FORK,        // a traced task created another
	REC_EXIT,        // a traced task ended
	REC_SIGNAL,      // a signal was delivered to a traced task
	REC_EXEC,        // a traced task executed a program (tid may change)
};

// How one argument is captured (struct spec.kind).
enum {
	CAP_NONE = 0,
	CAP_STR,      // a NUL-terminated string
	CAP_FIXED,    // size bytes
	CAP_SIZE_ARG, // as many bytes as the next argument says, up to size
	CAP_ARGV,     // a NULL-terminated array of strings (execve's argv)
};

// Region flags.
enum {
	REG_FAILED = 1, // the read failed (retried at exit when it may)
	REG_STRING = 2, // a C string
};

struct region {
	__u64 addr;
	__u16 len;
	__u8 arg; // the argument it belongs to
	__u8 flags;
	__u32 pad;
	__u8 data[REGION_DATA];
};

struct event {
	__u64 enter_ns; // CLOCK_MONOTONIC
	__u64 exit_ns;
	__u32 pid; // the thread group (process)
	__u32 tid;
	__s64 ret; // syscall result; REC_FORK: the child's tid; REC_EXIT: exit code; REC_SIGNAL: si_code
	__u64 args[6];
	__u32 nr;   // syscall number; REC_FORK: the child's process; REC_SIGNAL: the signal; REC_EXIT: 1 when the process ended
	__u16 type; // REC_*
	__u16 nregions;
	struct region regions[MAX_REGIONS];
};

#define HEADER_SIZE (sizeof(struct event) - MAX_REGIONS * sizeof(struct region))


// Per syscall: how each argument is captured. Filled by user space.
struct spec {
	__u8 kind[6];
	__u8 size[6]; // CAP_FIXED and CAP_SIZE_ARG: bytes; 0 = REGION_DATA
	__u8 skip;    // not recorded (--filter)
	__u8 any;     // some kind[i] is set
};

// Per task (task local storage: no hashing on the hot path, freed with
// the task, and kept when an execve gives a thread its leader's pid):
// whether it is traced, and the entry of the call it is in.
struct task_state {
	__u64 enter_ns;
	__u64 args[6];
	__u32 nr;
	__u8 traced;
	__u8 active;   // in a call whose entry was recorded
	__u8 captured; // that call's record is in captures
	__u8 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_state);
} tasks SEC(".maps");

// Calls that capture memory keep their whole record from entry to exit.
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct event);
} captures SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_NR);
	__type(key, __u32);
	__type(value, struct spec);
} arg_captures SEC(".maps");

// lost counts, per CPU, the records that did not fit in the ring buffer
// (or the captures map): user space reports them.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); // set by user space (--ring-buffer)
} events SEC(".maps");

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);
	if (n)
		(*n)++;
}

// wakeup: a syscall record never wakes the reader, which reads an idle
// ring every 20 ms anyway (a 64 MiB ring holds 0.7 s of the busiest app):
// a wake-up per record costs more than the record.
static __always_inline __u64 wakeup(void)
{
	return BPF_RB_NO_WAKEUP;
}

// traced_state is the current task's state when it is traced.
static __always_inline struct task_state *traced_state(struct task_struct *task)
{
	struct task_state *st = bpf_task_storage_get(&tasks, task, 0, 0);
	if (!st || !st->traced)
		return 0;
	return st;
}

// read_region fills r with what argument arg points at.
static __always_inline void read_region(struct region *r, __u64 addr, __u8 arg, int string, __u32 size)
{
	long n;
	r->addr = addr;
	r->arg = arg;
	r->flags = string ? REG_STRING : 0;
	if (size > REGION_DATA)
		size = REGION_DATA;
	if (string)
		n = bpf_probe_read_user_str(r->data, REGION_DATA, (void *)addr);
	else {
		n = bpf_probe_read_user(r->data, size, (void *)addr);
		if (n == 0)
			n = size;
	}
	if (n <= 0) {
		r->flags |= REG_FAILED;
		r->len = 0;
		return;
	}
	r->len = n;
}

static __always_inline struct region *next_region(struct event *e)
{
	__u16 i = e->nregions;
	if (i >= MAX_REGIONS)
		return 0;
	e->nregions = i + 1;
	return &e->regions[i];
}

static __always_inline void capture_argv(struct event *e, __u64 addr, __u8 arg)
{
	struct region *ptrs = next_region(e);
	if (!ptrs)
		return;
	read_region(ptrs, addr, arg, 0, MAX_ARGV * 8);
	if (ptrs->flags & REG_FAILED)
		return;
	for (int i = 0; i < MAX_ARGV; i++) {
		__u64 p = ((__u64 *)ptrs->data)[i];
		if (!p)
			break;
		struct region *s = next_region(e);
		if (!s)
			break;
		read_region(s, p, arg, 1, 0);
	}
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = traced_state(task);
	if (!st)
		return 0;
	__u32 nr = id;
	struct spec *sp = 0;
	if (nr < MAX_NR)
		sp = bpf_map_lookup_elem(&arg_captures, &nr);
	if (sp && sp->skip)
		return 0;
	__u64 id_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id_tgid;
	__u64 now = bpf_ktime_get_ns();
	__u64 args[6] = {regs->di, regs->si, regs->dx, regs->r10, regs->r8, regs->r9};

	// exit and exit_group never return: their record goes now.
	if (id == 60 || id == 231) {
		struct event *e = bpf_ringbuf_reserve(&events, HEADER_SIZE, 0);
		if (!e) {
			count_lost();
			return 0;
		}
		e->enter_ns = now;
		e->exit_ns = now;
		e->pid = id_tgid >> 32;
		e->tid = tid;
		e->ret = 0;
		for (int i = 0; i < 6; i++)
			e->args[i] = args[i];
		e->nr = id;
		e->type = REC_NORETURN;
		e->nregions = 0;
		bpf_ringbuf_submit(e, 0);
		return 0;
	}

	st->active = 1;
	st->captured = 0;
	if (!sp || !sp->any) {
		st->enter_ns = now;
		st->nr = nr;
		for (int i = 0; i < 6; i++)
			st->args[i] = args[i];
		return 0;
	}
	struct event *e = bpf_task_storage_get(&captures, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!e) {
		st->active = 0;
		count_lost();
		return 0;
	}
	st->captured = 1;
	e->enter_ns = now;
	e->pid = id_tgid >> 32;
	e->tid = tid;
	e->nr = nr;
	e->type = REC_SYSCALL;
	e->nregions = 0;
	for (int i = 0; i < 6; i++)
		e->args[i] = args[i];
	for (int i = 0; i < 6; i++) {
		__u8 kind = sp->kind[i];
		if (kind == CAP_NONE || !args[i])
			continue;
		if (kind == CAP_ARGV) {
			capture_argv(e, args[i], i);
			continue;
		}
		struct region *r = next_region(e);
		if (!r)
			break;
		__u32 size = sp->size[i] ? sp->size[i] : REGION_DATA;
		if (kind == CAP_SIZE_ARG && i < 5 && args[i + 1] < size)
			size = args[i + 1];
		read_region(r, args[i], i, kind == CAP_STR, size);
	}
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = traced_state(task);
	if (!st || !st->active)
		return 0; // not traced, or the exit of a call made before it was
	st->active = 0;
	__u64 id_tgid = bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns();

	if (st->captured) {
		struct event *c = bpf_task_storage_get(&captures, task, 0, 0);
		if (!c)
			return 0;
		c->exit_ns = now;
		c->ret = ret;
		c->tid = (__u32)id_tgid; // an execve may have given it its leader's pid
		c->pid = id_tgid >> 32;
		// A string the entry could not read (its page not yet touched)
		// can be read now that the kernel has; not after an execve,
		// whose memory is another program's now.
		if (c->nr != 59 && c->nr != 322) {
			for (int i = 0; i < MAX_REGIONS; i++) {
				if (i >= c->nregions)
					break;
				struct region *r = &c->regions[i];
				if ((r->flags & (REG_FAILED | REG_STRING)) == (REG_FAILED | REG_STRING))
					read_region(r, r->addr, r->arg, 1, 0);
			}
		}
		__u64 size = HEADER_SIZE + (__u64)c->nregions * sizeof(struct region);
		if (size > sizeof(struct event))
			size = sizeof(struct event);
		if (bpf_ringbuf_output(&events, c, size, wakeup()) != 0)
			count_lost();
		return 0;
	}
	struct event *e = bpf_ringbuf_reserve(&events, HEADER_SIZE, 0);
	if (!e) {
		count_lost();
		return 0;
	}
	e->enter_ns = st->enter_ns;
	e->exit_ns = now;
	e->pid = id_tgid >> 32;
	e->tid = (__u32)id_tgid;
	e->ret = ret;
	for (int i = 0; i < 6; i++)
		e->args[i] = st->args[i];
	e->nr = st->nr;
	e->type = REC_SYSCALL;
	e->nregions = 0;
	bpf_ringbuf_submit(e, wakeup());
	return 0;
}

static __always_inline void small_record(__u16 type, __u32 pid, __u32 tid, __s64 ret, __u32 nr)
{
	struct event *e = bpf_ringbuf_reserve(&events, HEADER_SIZE, 0);
	if (!e) {
		count_lost();
		return;
	}
	__u64 now = bpf_ktime_get_ns();
	e->enter_ns = now;
	e->exit_ns = now;
	e->pid = pid;
	e->tid = tid;
	e->ret = ret;
	for (int i = 0; i < 6; i++)
		e->args[i] = 0;
	e->nr = nr;
	e->type = type;
	e->nregions = 0;
	bpf_ringbuf_submit(e, 0);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	if (!traced_state(parent))
		return 0;
	struct task_state *cs = bpf_task_storage_get(&tasks, child, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!cs) {
		count_lost();
		return 0;
	}
	cs->traced = 1;
	cs->active = 0;
	small_record(REC_FORK, parent->tgid, parent->pid, child->pid, child->tgid);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *p)
{
	struct task_state *st = traced_state(p);
	if (!st)
		return 0;
	st->traced = 0;
	int live = BPF_CORE_READ(p, signal, live.counter);
	small_record(REC_EXIT, p->tgid, p->pid, p->exit_code, live == 0);
	return 0;
}

// An execve by a thread other than the leader gives it the leader's pid
// (its state is the task's: it moves with it); user space hears of it.
SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *p, int old_pid)
{
	if (!traced_state(p))
		return 0;
	struct event *e = bpf_ringbuf_reserve(&events, HEADER_SIZE + sizeof(struct region), 0);
	if (!e) {
		count_lost();
		return 0;
	}
	__u64 now = bpf_ktime_get_ns();
	e->enter_ns = now;
	e->exit_ns = now;
	e->pid = p->tgid;
	e->tid = p->pid;
	e->ret = old_pid;
	for (int i = 0; i < 6; i++)
		e->args[i] = 0;
	e->nr = 0;
	e->type = REC_EXEC;
	e->nregions = 1;
	e->regions[0].addr = 0;
	e->regions[0].arg = 0;
	e->regions[0].flags = REG_STRING;
	e->regions[0].len = 16;
	bpf_get_current_comm(e->regions[0].data, 16);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/signal_deliver")
int BPF_PROG(signal_deliver, int sig, struct kernel_siginfo *info)
{
	if (!traced_state(bpf_get_current_task_btf()))
		return 0;
	__u64 id_tgid = bpf_get_current_pid_tgid();
	int code = 0;
	if (info)
		code = BPF_CORE_READ(info, si_code);
	small_record(REC_SIGNAL, id_tgid >> 32, (__u32)id_tgid, code, sig);
	return 0;
}
