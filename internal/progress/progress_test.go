package progress

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// screen is what a board drew. The board writes only under its lock,
// which String takes too.
type screen struct {
	b   *Board
	buf strings.Builder
}

func (s *screen) Write(p []byte) (int, error) { return s.buf.Write(p) }

func (s *screen) String() string {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	return s.buf.String()
}

func newBoard(poll PollFunc) (*Board, *screen) {
	scr := &screen{}
	scr.b = New(scr, poll)
	scr.b.tick = 5 * time.Millisecond
	return scr.b, scr
}

// eventually waits for the screen to show want.
func eventually(t *testing.T, scr *screen, want string) {
	t.Helper()
	assert.Eventually(t, func() bool { return strings.Contains(scr.String(), want) }, 5*time.Second, time.Millisecond,
		"screen %q never showed %q", scr.String(), want)
}

func TestTrackPollsWhileTracked(t *testing.T) {
	var mu sync.Mutex
	asked := map[string]int{}
	b, scr := newBoard(func(_ context.Context, id string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		asked[id]++
		if id == "broken" {
			return "", errors.New("gone")
		}
		return "42%", nil
	})
	done := b.Track("op1", "Creating instance")
	eventually(t, scr, "\r\x1b[KCreating instance: 42%")
	doneBroken := b.Track("broken", "Other")
	done2 := b.Track("op2", "Publishing")
	eventually(t, scr, "Creating instance: 42% | Publishing: 42%")
	done()
	doneBroken()
	done2()
	assert.True(t, strings.HasSuffix(scr.String(), "\r\x1b[K"), "the line is cleared at the end: %q", scr.String())

	mu.Lock()
	n := asked["op1"]
	mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, n, asked["op1"], "no polling once nothing is tracked")
	assert.NotContains(t, scr.String(), "Other", "an operation that says nothing is not shown")
}

func TestTransfer(t *testing.T) {
	b, scr := newBoard(func(context.Context, string) (string, error) {
		t.Error("transfers are not polled")
		return "", nil
	})
	b.Transfer(1, "Uploading /root/big.bin", 3<<20, 64<<20, false)
	assert.Contains(t, scr.String(), "Uploading /root/big.bin: 3.0MB/64.0MB (4%)")
	b.Transfer(1, "Uploading /root/big.bin", 64<<20, 64<<20, true)
	assert.True(t, strings.HasSuffix(scr.String(), "\r\x1b[K"))
	b.tick = 0
	b.Transfer(2, "Downloading x", 1500, 0, false)
	assert.Contains(t, scr.String(), "Downloading x: 1.5kB")
	b.Transfer(2, "", 0, 0, true)
}

func TestNilBoardShowsNothing(t *testing.T) {
	var b *Board
	b.Track("op", "x")()
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 1023: "1023B", 1536: "1.5kB", 5 << 20: "5.0MB", 3 << 30: "3.0GB"} {
		assert.Equal(t, want, formatBytes(n))
	}
}
