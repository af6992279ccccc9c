package rest

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeEvents serves /1.0/events: it records the query and runs feed with
// the connection.
func fakeEvents(t *testing.T, cfg Config, feed func(conn *websocket.Conn, query string)) *Client {
	return fakeLXD(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/1.0/events" {
			http.NotFound(w, r)
			return
		}
		up := websocket.Upgrader{}
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		feed(conn, r.URL.RawQuery)
	}, cfg)
}

func event(i int) []byte {
	return fmt.Appendf(nil, `{"type":"lifecycle","timestamp":"t","metadata":{"action":"instance-started","n":%d}}`, i)
}

// holdOpen reads until the client goes away, so pings get their pongs.
func holdOpen(conn *websocket.Conn) {
	for {
		if _, _, err := conn.NextReader(); err != nil {
			return
		}
	}
}

func TestEventsQuery(t *testing.T) {
	queries := make(chan string, 4)
	c := fakeEvents(t, Config{Project: "p1"}, func(conn *websocket.Conn, q string) { queries <- q })
	ctx := context.Background()
	for _, tc := range []struct {
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
		assert.Equal(t, tc.want, <-queries)
		require.NoError(t, s.Close())
	}
}

func TestEventsDeliveredInOrderAndPingsAnswered(t *testing.T) {
	var pongs atomic.Int64
	c := fakeEvents(t, Config{}, func(conn *websocket.Conn, _ string) {
		conn.SetPongHandler(func(string) error { pongs.Add(1); return nil })
		for i := range 3 {
			_ = conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second))
			_ = conn.WriteMessage(websocket.TextMessage, event(i))
		}
		holdOpen(conn) // reading is what runs the pong handler
	})
	s, err := c.Events(context.Background(), EventOptions{})
	require.NoError(t, err)
	defer s.Close()
	for i := range 3 {
		ev, err := s.Next(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "lifecycle", ev.Type)
		assert.JSONEq(t, string(event(i)), string(ev.Raw))
	}
	deadline := time.Now().Add(2 * time.Second)
	for pongs.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	assert.EqualValues(t, 3, pongs.Load())
}

func TestEventsNeverSentTimesOutAndCloseUnblocks(t *testing.T) {
	c := fakeEvents(t, Config{}, func(conn *websocket.Conn, _ string) { holdOpen(conn) })
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
	c := fakeEvents(t, Config{}, func(conn *websocket.Conn, _ string) {
		_ = conn.WriteMessage(websocket.TextMessage, event(1))
		_ = conn.WriteMessage(websocket.TextMessage, []byte("not json"))
		// return: the connection drops without a close frame
	})
	s, err := c.Events(context.Background(), EventOptions{})
	require.NoError(t, err)
	defer s.Close()
	ev, err := s.Next(context.Background())
	require.NoError(t, err, "events queued before the end are still delivered")
	assert.JSONEq(t, string(event(1)), string(ev.Raw))
	_, err = s.Next(context.Background())
	assert.Equal(t, KindConnection, kindOf(err))
	assert.Contains(t, err.Error(), "ended")
}

func TestEventsBoundedBufferDropsOldest(t *testing.T) {
	sent := make(chan struct{})
	c := fakeEvents(t, Config{}, func(conn *websocket.Conn, _ string) {
		for i := range 10 {
			_ = conn.WriteMessage(websocket.TextMessage, event(i))
		}
		close(sent)
		holdOpen(conn)
	})
	s, err := c.Events(context.Background(), EventOptions{Buffer: 4})
	require.NoError(t, err)
	defer s.Close()
	<-sent
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
	c := fakeEvents(t, Config{}, func(conn *websocket.Conn, _ string) { holdOpen(conn) })
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
