package lxdmod

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// ledger keeps the operations a script started with wait=False until
// their outcome has reached the script, so that no failure goes unreported:
// an operation leaves it when it succeeds, or when the script has seen its
// failure (a wait, or the next call on its object). What remains when the
// script ends is waited for by whoever ran the script (Module.Wait).
type ledger struct {
	mu  sync.Mutex
	ops map[*Operation]struct{}
}

func newLedger() *ledger { return &ledger{ops: map[*Operation]struct{}{}} }

// add records o; the operation drops itself once it has succeeded
// (Operation.afterEnd).
func (l *ledger) add(o *Operation) {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.ops[o] = struct{}{}
	l.mu.Unlock()
}

func (l *ledger) drop(o *Operation) {
	if l == nil {
		return
	}
	l.mu.Lock()
	delete(l.ops, o)
	l.mu.Unlock()
}

func (l *ledger) list() []*Operation {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*Operation, 0, len(l.ops))
	for o := range l.ops {
		out = append(out, o)
	}
	return out
}

// wait blocks until every recorded operation has ended and returns the
// failures nobody has seen (nil if none); each is reported only once. Only
// ctx ends it early, with Cancelled.
func (l *ledger) wait(ctx context.Context) error {
	for {
		ops := l.list()
		if len(ops) == 0 {
			return nil
		}
		var failed []*Operation
		for _, o := range ops {
			select {
			case <-o.watch().Done():
			case <-ctx.Done():
				return rest.ContextError(ctx, fmt.Sprintf("waiting for %d operation(s) started with wait=False", len(ops)))
			}
			if o.outcome() != nil && o.markReported() {
				failed = append(failed, o)
			}
			l.drop(o)
		}
		if len(failed) > 0 {
			return newUnwaitedError(failed)
		}
	}
}

// ended returns, without waiting, the failures among the operations that
// have already ended, each reported only once.
func (l *ledger) ended() error {
	var failed []*Operation
	for _, o := range l.list() {
		if !o.ended() {
			continue
		}
		if o.outcome() != nil && o.markReported() {
			failed = append(failed, o)
		}
		l.drop(o)
	}
	if len(failed) == 0 {
		return nil
	}
	return newUnwaitedError(failed)
}

// UnwaitedError lists operations started with wait=False that failed while
// nobody was waiting for them. errors.As finds each one's LXD error.
type UnwaitedError struct {
	Failures []OperationFailure
}

// OperationFailure is one failed operation: what it was ("start of
// instance \"c1\""), the script position that started it, and its error.
type OperationFailure struct {
	What, Where string
	Err         error
}

func newUnwaitedError(ops []*Operation) *UnwaitedError {
	e := &UnwaitedError{}
	for _, o := range ops {
		e.Failures = append(e.Failures, OperationFailure{What: o.spec.label(), Where: o.spec.where, Err: o.outcome()})
	}
	// Started order: by script position is what a reader can follow.
	sortFailures(e.Failures)
	return e
}

func sortFailures(fs []OperationFailure) {
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && fs[j].Where < fs[j-1].Where; j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}

func (e *UnwaitedError) Error() string {
	kind := rest.KindAPI.String()
	var first *rest.Error
	if len(e.Failures) > 0 && errors.As(e.Failures[0].Err, &first) {
		kind = first.Kind.String()
	}
	if len(e.Failures) == 1 {
		return kind + ": " + e.Failures[0].line()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d operations started with wait=False failed, and nobody waited for them:", rest.KindAPI, len(e.Failures))
	for _, f := range e.Failures {
		b.WriteString("\n  ")
		b.WriteString(f.line())
	}
	return b.String()
}

// line reads "start of instance "c1" (started at x.star:3:8 with
// wait=False, never waited for) failed: The instance is already running".
func (f OperationFailure) line() string {
	msg := f.Err.Error()
	var e *rest.Error
	if errors.As(f.Err, &e) {
		msg = strings.TrimPrefix(msg, e.Kind.String()+": ")
		if e.Subject != "" {
			msg = strings.TrimPrefix(msg, e.Subject+": ")
		}
	}
	where := ""
	if f.Where != "" {
		where = " (started at " + f.Where + " with wait=False, never waited for)"
	}
	return f.What + where + " failed: " + msg
}

// Unwrap gives errors.Is/As every failure.
func (e *UnwaitedError) Unwrap() []error {
	out := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		out[i] = f.Err
	}
	return out
}

// label names the operation for messages: `start of instance "c1"`.
func (s opSpec) label() string {
	switch {
	case s.subject == "":
		return s.what
	case s.what == "":
		return s.subject
	}
	return s.what + " of " + s.subject
}
