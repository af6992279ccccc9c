package desired

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// MaxConcurrent is how many changes Run carries out at once at most.
const MaxConcurrent = 8

// Do sends one request of change c and, when the server runs it as a
// background operation, waits for that to end.
type Do func(ctx context.Context, c *Change, r Request) error

// Run carries out the plan: stage by stage — creations, updates and state
// changes kind by kind in the order of Kind, then deletions kind by kind in
// reverse — the changes of different objects within a stage at most limit
// at once, one object's changes one after another.
//
// After the first failure (or once ctx is done) no further change starts,
// and those under way are waited for. Run then returns an *Error listing
// what was done, what failed and what was not attempted; nil when every
// change was made.
func (p *Plan) Run(ctx context.Context, limit int, do Do) error {
	if limit < 1 {
		limit = 1
	}
	r := &runner{plan: p, do: do, outcome: make([]error, len(p.Changes)), done: make([]bool, len(p.Changes))}
	for _, stage := range p.stages() {
		r.stage(ctx, stage, limit)
	}
	return r.result(ctx)
}

// unit is one object's changes in a stage (indices into Plan.Changes),
// carried out in order.
type unit []int

// stages groups the changes, which sort left in running order: a stage is
// the run of changes of one kind and direction (deletion or not), a unit
// the run of changes of one object within it.
func (p *Plan) stages() [][]unit {
	var out [][]unit
	for i, c := range p.Changes {
		if i == 0 || c.Kind != p.Changes[i-1].Kind || (c.Action == Delete) != (p.Changes[i-1].Action == Delete) {
			out = append(out, nil)
		}
		st := &out[len(out)-1]
		if last := len(*st) - 1; last >= 0 && p.Changes[(*st)[last][0]].Name == c.Name {
			(*st)[last] = append((*st)[last], i)
			continue
		}
		*st = append(*st, unit{i})
	}
	return out
}

type runner struct {
	plan *Plan
	do   Do

	mu      sync.Mutex
	outcome []error // per change: its failure
	done    []bool  // per change: made
	failed  bool
}

func (r *runner) stopped(ctx context.Context) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed || ctx.Err() != nil
}

// stage runs the units of one stage, at most limit at once, and returns
// once every unit it started has ended.
func (r *runner) stage(ctx context.Context, units []unit, limit int) {
	forEach(len(units), limit, func() bool { return r.stopped(ctx) }, func(k int) {
		for _, i := range units[k] {
			if r.stopped(ctx) {
				return
			}
			err := r.change(ctx, &r.plan.Changes[i])
			r.mu.Lock()
			if err != nil {
				r.outcome[i], r.failed = err, true
			} else {
				r.done[i] = true
			}
			r.mu.Unlock()
			if err != nil {
				return
			}
		}
	})
}

// forEach calls fn(i) for i in 0..n-1, at most limit at once; once stopped
// holds it starts no further call. It returns when every call it started
// has returned.
func forEach(n, limit int, stopped func() bool, fn func(i int)) {
	slots := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		slots <- struct{}{}
		if stopped() {
			<-slots
			break
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-slots }()
			fn(i)
		}(i)
	}
	wg.Wait()
}

// Read calls read for 0..n-1 as Run makes changes, at most MaxConcurrent
// at once, and returns the first error; once one failed, no further call
// starts and those running see their context cancelled. A plan's reads use
// it.
func Read(ctx context.Context, n int, read func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	var first error
	forEach(n, MaxConcurrent, func() bool { return ctx.Err() != nil }, func(i int) {
		if err := read(ctx, i); err != nil {
			once.Do(func() { first = err; cancel() })
		}
	})
	if first == nil {
		return ctx.Err()
	}
	return first
}

// change sends the requests of one change in order. When a later one
// fails, the error says which steps were made before.
func (r *runner) change(ctx context.Context, c *Change) error {
	for i, req := range c.requests {
		if err := r.do(ctx, c, req); err != nil {
			if i == 0 {
				return err
			}
			var made []string
			for _, prev := range c.requests[:i] {
				made = append(made, step(prev))
			}
			return &stepError{made: strings.Join(made, " and "), step: step(req), err: err}
		}
	}
	return nil
}

// step names what a request does: the state action it asks for, or
// create, update or delete.
func step(r Request) string {
	if b, ok := r.Body.(map[string]any); ok && strings.HasSuffix(r.Path, "/state") {
		if a, ok := b["action"].(string); ok {
			return a
		}
	}
	switch r.Method {
	case "POST":
		return "create"
	case "DELETE":
		return "delete"
	}
	return "update"
}

// stepError is the failure of a change some of whose steps were made.
type stepError struct {
	made, step string
	err        error
}

func (e *stepError) Error() string {
	return fmt.Sprintf("%s done, then %s failed: %v", e.made, e.step, e.err)
}

func (e *stepError) Unwrap() error { return e.err }

func (r *runner) result(ctx context.Context) error {
	e := &Error{}
	for i := range r.plan.Changes {
		c := &r.plan.Changes[i]
		switch {
		case r.done[i]:
			e.Done = append(e.Done, c)
		case r.outcome[i] != nil:
			e.Failed = append(e.Failed, Failure{Change: c, Err: r.outcome[i]})
		default:
			e.NotAttempted = append(e.NotAttempted, c)
		}
	}
	if len(e.Failed) == 0 && len(e.NotAttempted) == 0 {
		return nil
	}
	if len(e.Failed) == 0 {
		e.Interrupted = ctx.Err()
	}
	return e
}

// Error is the failure of Run: what was done, what failed, and what was
// not attempted, each in the plan's order.
type Error struct {
	Done         []*Change
	Failed       []Failure
	NotAttempted []*Change
	// Interrupted is ctx's error when Run stopped between changes, with
	// none failing.
	Interrupted error
}

// Failure is one change that failed, with the error of its request.
type Failure struct {
	Change *Change
	Err    error
}

// kinded errors carry an error kind (the REST client's do).
type kinded interface{ Kinds() []string }

// Kinds are the kinds of the first failure's error: a script catching the
// error of an apply sees the kind of what went wrong.
func (e *Error) Kinds() []string {
	for _, f := range e.Failed {
		var k kinded
		if errors.As(f.Err, &k) {
			return k.Kinds()
		}
	}
	var k kinded
	if errors.As(e.Interrupted, &k) {
		return k.Kinds()
	}
	return nil
}

func (e *Error) Error() string {
	var b strings.Builder
	if kinds := e.Kinds(); len(kinds) > 0 {
		b.WriteString(kinds[0] + ": ")
	}
	how := "failed"
	if len(e.Failed) == 0 {
		how = "interrupted"
	}
	fmt.Fprintf(&b, "apply %s: %d done, %d failed, %d not attempted", how, len(e.Done), len(e.Failed), len(e.NotAttempted))
	if e.Interrupted != nil {
		fmt.Fprintf(&b, " (%v)", e.Interrupted)
	}
	for _, c := range e.Done {
		b.WriteString("\n  done: " + c.Headline())
	}
	for _, f := range e.Failed {
		b.WriteString("\n  failed: " + f.Change.Headline() + ": " + f.Err.Error())
	}
	for _, c := range e.NotAttempted {
		b.WriteString("\n  not attempted: " + c.Headline())
	}
	return b.String()
}

// Unwrap gives errors.Is and errors.As every failure's error.
func (e *Error) Unwrap() []error {
	var out []error
	for _, f := range e.Failed {
		out = append(out, f.Err)
	}
	if e.Interrupted != nil {
		out = append(out, e.Interrupted)
	}
	return out
}
