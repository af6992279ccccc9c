package rest

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lxdstar/lxdstar/internal/fakelxd"
)

// newEvents is a client of a fake LXD for the events tests.
func newEvents(t *testing.T, cfg Config) (*fakelxd.Server, *Client) { return newFake(t, cfg) }

// openStream opens an event stream with opts on a new fake LXD and returns
// it with the fake's end of it; the stream is closed when the test ends.
func openStream(t *testing.T, opts EventOptions) (*EventStream, *fakelxd.Listener) {
	t.Helper()
	f, c := newEvents(t, Config{})
	s, err := c.Events(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, f.WaitListeners(1)[0]
}

func event(i int) []byte {
	return fmt.Appendf(nil, `{"type":"lifecycle","timestamp":"t","metadata":{"action":"instance-started","n":%d}}`, i)
}

func TestEventsQuery(t *testing.T) {
	f, c := newEvents(t, Config{Project: "p1"})
	ctx := context.Background()
	for i, tc := range []struct {
		opts EventOptions
		want string
	}{
		{EventOptions{}, "project=p1"},
		{EventOptions{Types: []string{"lifecycle", "operation"}}, "project=p1&type=lifecycle%2Coperation"},
		{EventOptions{Types: []string{"lifecycle", "all"}, Project: "p2"}, "project=p2"},
		{EventOptions{AllProjects: true}, "all-projects=true"},
	} {
		s, err := c.Events(ctx, tc.opts)
		require.NoError(t, err)
		assert.Equal(t, tc.want, f.WaitListeners(i + 1)[i].Query.Encode())
		require.NoError(t, s.Close())
	}
}

func TestEventsDeliveredInOrderAndPingsAnswered(t *testing.T) {
	s, l := openStream(t, EventOptions{})
	for i := range 3 {
		require.NoError(t, l.Ping())
		require.NoError(t, l.Send(event(i)))
	}
	for i := range 3 {
		ev, err := s.Next(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "lifecycle", ev.Type)
		assert.JSONEq(t, string(event(i)), string(ev.Raw))
	}
	deadline := time.Now().Add(2 * time.Second)
	for l.Pongs() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	assert.EqualValues(t, 3, l.Pongs())
}

func TestEventsNeverSentTimesOutAndCloseUnblocks(t *testing.T) {
	_, c := newEvents(t, Config{})
	s, err := c.Events(context.Background(), EventOptions{})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = s.Next(ctx)
	assert.Equal(t, KindTimeout, kindOf(err))

	got := make(chan error, 1)
	go func() { _, err := s.Next(context.Background()); got <- err }()
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, s.Close())
	select {
	case err := <-got:
		assert.Equal(t, KindConnection, kindOf(err))
		assert.Contains(t, err.Error(), "closed")
	case <-time.After(2 * time.Second):
		t.Fatal("Next still blocked after Close")
	}
	require.NoError(t, s.Close(), "Close twice")
}

func TestEventsServerClosesMidStream(t *testing.T) {
	s, l := openStream(t, EventOptions{})
	require.NoError(t, l.Send(event(1)))
	require.NoError(t, l.Send([]byte("not json")))
	l.Drop() // the connection drops without a close frame
	ev, err := s.Next(context.Background())
	require.NoError(t, err, "events queued before the end are still delivered")
	assert.JSONEq(t, string(event(1)), string(ev.Raw))
	_, err = s.Next(context.Background())
	assert.Equal(t, KindConnection, kindOf(err))
	assert.Contains(t, err.Error(), "ended")
}

func TestEventsBoundedBufferDropsOldest(t *testing.T) {
	s, l := openStream(t, EventOptions{Buffer: 4})
	for i := range 10 {
		require.NoError(t, l.Send(event(i)))
	}
	deadline := time.Now().Add(2 * time.Second)
	for s.Dropped() < 6 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	assert.EqualValues(t, 6, s.Dropped())
	for i := 6; i < 10; i++ {
		ev, err := s.Next(context.Background())
		require.NoError(t, err)
		assert.JSONEq(t, string(event(i)), string(ev.Raw))
	}
}

func TestEventsCloseLeavesNoGoroutines(t *testing.T) {
	_, c := newEvents(t, Config{})
	s, err := c.Events(context.Background(), EventOptions{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	base := runtime.NumGoroutine()
	for range 10 {
		s, err := c.Events(context.Background(), EventOptions{})
		require.NoError(t, err)
		require.NoError(t, s.Close())
	}
	settleGoroutines(t, base+1)
}
