// Package analyze is the second stage of syscov's pipeline (trace →
// analyze → report): pure functions over trace.Event streams. It never
// prints and never does I/O; results are plain values, and anything worth a
// warning comes back as an error value beside them.
//
// The steps are:
//   - Summary: per-syscall calls, errors, time and errno breakdown, per
//     process on request (what `strace -c` prints, and more).
//
// It imports the trace stage (trace; trace/workload for the load results
// bench reports) and its own uksource only (a test holds every package to
// the pipeline's direction: job/imports_test.go).
package analyze
