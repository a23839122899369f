package native

import (
	"syscall"

	"github.com/syscov/syscov/trace/ptrace"
)

type ptraceApp struct{ t *ptrace.Tracer }

func startPtrace(cfg Config) (app, error) {
	t, err := ptrace.Start(cfg.Argv, ptrace.Options{
		Trace: cfg.Trace, Stacks: cfg.Stacks, StackFor: cfg.StackFor, Dir: cfg.Dir, Env: cfg.Env, Fail: cfg.Fail, Fake: cfg.Fake, Quiet: cfg.Quiet,
		Answer: cfg.Answer, AnswerSyscalls: cfg.AnswerSyscalls,
		Stdout: cfg.Stdout, Stderr: cfg.Stderr, OnEvent: cfg.OnEvent,
	})
	if err != nil {
		return nil, err
	}
	return &ptraceApp{t}, nil
}

func (p *ptraceApp) pid() int                        { return p.t.Pid() }
func (p *ptraceApp) signal(sig syscall.Signal) error { return p.t.Signal(sig) }
func (p *ptraceApp) killAll()                        { p.t.Kill() }
func (p *ptraceApp) done() <-chan struct{}           { return p.t.Done() }
func (p *ptraceApp) wait() (int, string, error) {
	r, err := p.t.Wait()
	return r.ExitCode, r.Signal, err
}
