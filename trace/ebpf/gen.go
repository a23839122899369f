package ebpf

// The BPF program (bpf/syscov.bpf.c) is compiled by clang through
// cilium/ebpf's bpf2go into syscov_x86_bpfel.go and .o; both are committed,
// so building syscov needs no clang. .ci/run regenerates them and fails
// when they differ from the committed ones.
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target amd64 -type event -type spec -type task_state syscov bpf/syscov.bpf.c -- -I/usr/include/x86_64-linux-gnu
