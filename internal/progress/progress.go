// Package progress draws one updating status line (on a terminal's stderr)
// for the long-running work a script waits for: background operations,
// whose progress is polled while someone waits, and byte transfers, which
// report as they go. It knows nothing of LXD: a poll function says how far
// an operation is.
package progress

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// PollFunc returns how far the operation id is, worded for people
// ("Image pack: 42% (22.5MB/s)"), or "" when it does not say.
type PollFunc func(ctx context.Context, id string) (string, error)

// Board is the status line. A nil *Board shows nothing (progress output
// not wanted) and is safe to use.
type Board struct {
	w    io.Writer
	poll PollFunc
	tick time.Duration // poll and redraw interval

	mu     sync.Mutex
	active map[string]string // id → description
	text   map[string]string // id → latest progress
	shown  bool              // a line is on screen
	stop   chan struct{}     // closes the poller; nil when idle
	drawn  time.Time         // last redraw for transfers (throttled)
}

// New returns a board drawing on w, asking poll about operations.
func New(w io.Writer, poll PollFunc) *Board {
	return &Board{w: w, poll: poll, tick: 250 * time.Millisecond,
		active: map[string]string{}, text: map[string]string{}}
}

// Track shows the progress of operation id (described for people) until
// the returned func is called. It polls only while something is tracked.
func (b *Board) Track(id, description string) (done func()) {
	if b == nil {
		return func() {}
	}
	b.mu.Lock()
	b.active[id] = description
	if b.stop == nil {
		b.stop = make(chan struct{})
		go b.pollLoop(b.stop)
	}
	b.mu.Unlock()
	return func() { b.untrack(id) }
}

// Transfer reports n of total bytes (total <= 0: unknown) of transfer id,
// labelled for people; done ends it. Redrawn at most every tick. Its
// signature is rest.TransferFunc's.
func (b *Board) Transfer(id uint64, label string, n, total int64, done bool) {
	key := fmt.Sprintf("transfer-%d", id)
	if done {
		b.untrack(key)
		return
	}
	text := formatBytes(n)
	if total > 0 {
		text = fmt.Sprintf("%s/%s (%d%%)", text, formatBytes(total), n*100/total)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.active[key] = label
	b.text[key] = text
	if time.Since(b.drawn) >= b.tick {
		b.drawn = time.Now()
		b.drawLocked()
	}
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fkB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}

func (b *Board) untrack(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.active, id)
	delete(b.text, id)
	if len(b.active) > 0 {
		b.drawLocked()
		return
	}
	if b.stop != nil {
		close(b.stop)
		b.stop = nil
	}
	if b.shown {
		fmt.Fprint(b.w, "\r\x1b[K") // clear the line when done
		b.shown = false
	}
}

func (b *Board) pollLoop(stop chan struct{}) {
	t := time.NewTicker(b.tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		b.mu.Lock()
		ids := make([]string, 0, len(b.active))
		for id := range b.active {
			ids = append(ids, id)
		}
		b.mu.Unlock()
		for _, id := range ids {
			if strings.HasPrefix(id, "transfer-") {
				continue // transfers report themselves
			}
			ctx, cancel := context.WithTimeout(context.Background(), b.tick*4)
			text, err := b.poll(ctx, id)
			cancel()
			if err != nil {
				continue
			}
			b.mu.Lock()
			if _, ok := b.active[id]; ok {
				b.text[id] = text
			}
			b.mu.Unlock()
		}
		select {
		case <-stop:
			return
		default:
		}
		b.mu.Lock()
		b.drawLocked()
		b.mu.Unlock()
	}
}

func (b *Board) drawLocked() {
	ids := make([]string, 0, len(b.active))
	for id := range b.active {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var parts []string
	for _, id := range ids {
		if p := b.text[id]; p != "" {
			parts = append(parts, b.active[id]+": "+p)
		}
	}
	if len(parts) == 0 {
		return
	}
	fmt.Fprint(b.w, "\r\x1b[K"+strings.Join(parts, " | "))
	b.shown = true
}
