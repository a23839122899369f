package trace

// textReader is the streaming machinery the line-based readers (strace
// text, Unikraft consoles) share: it reads lines, hands each to the
// format's parse function, queues the events a line completes, and hands
// them out one by one. At the end of input finish flushes what is still
// pending.
type textReader struct {
	lr     *lineReader
	opts   Options
	hdr    Header
	ev     Event
	ready  []Event
	at     int
	stats  Stats
	err    error
	done   bool
	parse  func(line []byte)
	finish func()
	// more, when set after the end of input, emits some of what finish
	// left to flush and reports whether it emitted anything: a reader
	// with a million calls still pending hands them out in batches
	// instead of holding them twice.
	more func() bool
}

func (r *textReader) Header() Header { return r.hdr }
func (r *textReader) Stats() Stats   { return r.stats }
func (r *textReader) Err() error     { return r.err }
func (r *textReader) Event() *Event  { return &r.ev }
func (r *textReader) Close() error   { return r.lr.close() }

func (r *textReader) Scan() bool {
	for {
		if r.at < len(r.ready) {
			r.ev = r.ready[r.at]
			r.ready[r.at] = Event{}
			r.at++
			r.stats.Events++
			return true
		}
		r.ready, r.at = r.ready[:0], 0
		if r.done && r.more != nil && r.err == nil && r.more() {
			continue
		}
		if r.done || r.err != nil {
			return false
		}
		line, tooLong, ok := r.lr.next()
		if !ok {
			r.done = true
			if err := r.lr.ioErr(); err != nil {
				r.err = err
			}
			r.finish()
			continue
		}
		r.stats.Lines++
		if tooLong {
			r.warnAt(r.lr.lineNo, "line longer than 16 MiB")
			continue
		}
		r.parse(line)
	}
}

// warnAt reports a malformed line: to Options.Warn, or as the error that
// ends the read under Options.Strict.
func (r *textReader) warnAt(line int, msg string) { r.warnText(line, msg, nil) }

// warnText is warnAt quoting the start of the offending line.
func (r *textReader) warnText(line int, msg string, text []byte) {
	r.stats.Skipped++
	se := &SyntaxError{Pos: Pos{r.lr.name, line}, Msg: msg}
	if len(text) > 0 {
		se.Text = lineStart(text)
	}
	if r.opts.Strict {
		if r.err == nil {
			r.err = se
		}
		return
	}
	if r.opts.Warn != nil {
		r.opts.Warn(se)
	}
}

func (r *textReader) emit(ev Event) {
	if ev.Kind == KindSyscall && (ev.Name == "clone" || ev.Name == "clone3") && !ev.HasCloneFlags {
		ev.CloneFlags, ev.HasCloneFlags = ParseCloneFlags(ev.Name, ev.Args)
	}
	r.ready = append(r.ready, ev)
}
