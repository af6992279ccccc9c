package rest

import "context"

// Background follows work the client does itself, in several requests
// (applying a plan), as a Pending like an LXD operation's, so that callers
// wait for both alike: op describes it, and its outcome is work's error.
// Stop cancels work's context.
func (c *Client) Background(ctx context.Context, op *Operation, work func(ctx context.Context) error) *Pending {
	p := &Pending{c: c, done: make(chan struct{}), op: op}
	ctx, p.stop = context.WithCancel(ctx)
	go func() {
		defer p.stop()
		err := work(ctx)
		final := *op
		final.Status, final.StatusCode = "Success", 200
		if err != nil {
			final.Status, final.StatusCode, final.Err = "Failure", 400, err.Error()
		}
		p.mu.Lock()
		p.op, p.err = &final, err
		p.mu.Unlock()
		close(p.done)
	}()
	return p
}
