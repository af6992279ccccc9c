package lxdmod

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// progressBoard draws one updating status line (on a terminal's stderr) for
// the operations a script is waiting for: LXD's "*_progress" metadata, e.g.
// "Creating instance: fs: 42% (12.3MB/s)". It polls only while a wait is in
// progress, and only when the host asked for progress output.
type progressBoard struct {
	w    io.Writer
	rc   *rest.Client
	tick time.Duration

	mu     sync.Mutex
	active map[string]string // op id → description
	text   map[string]string // op id → latest progress
	shown  bool              // a line is on screen
	stop   chan struct{}     // closes the poller; nil when idle
	drawn  time.Time         // last redraw for transfers (throttled)
}

func newProgressBoard(w io.Writer, rc *rest.Client) *progressBoard {
	return &progressBoard{w: w, rc: rc, tick: 250 * time.Millisecond,
		active: map[string]string{}, text: map[string]string{}}
}

// track shows op's progress until the returned func is called. A nil board
// (no progress output wanted) does nothing.
func (b *progressBoard) track(op *rest.Operation) func() {
	if b == nil || op == nil || op.Final() {
		return func() {}
	}
	b.mu.Lock()
	b.active[op.ID] = op.Description
	if b.stop == nil {
		b.stop = make(chan struct{})
		go b.poll(b.stop)
	}
	b.mu.Unlock()
	return func() { b.untrack(op.ID) }
}

// transfer is the rest.TransferFunc for labelled streams (file and image
// uploads and downloads): bytes moved, redrawn at most every tick.
func (b *progressBoard) transfer(id uint64, label string, n, total int64, done bool) {
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

func (b *progressBoard) untrack(id string) {
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

func (b *progressBoard) poll(stop chan struct{}) {
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
			ctx, cancel := context.WithTimeout(context.Background(), b.tick*4)
			op, err := b.rc.GetOperation(ctx, id)
			cancel()
			if err != nil {
				continue
			}
			b.mu.Lock()
			if _, ok := b.active[id]; ok {
				b.text[id] = Progress(op)
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

func (b *progressBoard) drawLocked() {
	var parts []string
	ids := sortedKeys(b.active)
	sort.Strings(ids)
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
