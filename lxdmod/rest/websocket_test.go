package rest

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lxdstar/lxdstar/internal/fakelxd"
)

func TestDialWebsocketOverTLS(t *testing.T) {
	f := fakelxd.NewTLS(t, fakelxd.Config{})
	c, err := New(Config{Endpoint: f.Endpoint(), Insecure: true})
	require.NoError(t, err)
	conn, err := c.DialWebsocket(context.Background(), "/1.0/events?type=lifecycle")
	require.NoError(t, err)
	defer conn.Close()
	l := f.WaitListeners(1)[0]
	assert.Equal(t, "lifecycle", l.Query.Get("type"), "the query reaches the server")
	require.NoError(t, l.Send([]byte("hi")))
	_, data, err := conn.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "hi", string(data))
}

func TestDialWebsocketVerifiesServer(t *testing.T) {
	f := fakelxd.NewTLS(t, fakelxd.Config{})
	c, err := New(Config{Endpoint: f.Endpoint()}) // verification on: self-signed is refused
	require.NoError(t, err)
	_, err = c.DialWebsocket(context.Background(), "/1.0/events")
	require.Error(t, err)
	assert.Equal(t, KindConnection, kindOf(err))
}

func TestDialWebsocketTraceHidesSecret(t *testing.T) {
	var trace bytes.Buffer
	f, c := newFake(t, Config{Trace: &trace})
	f.AddInstance("c1", fakelxd.Object{"status": "Running"})
	started, err := c.StartExec(context.Background(), "c1", ExecRequest{Command: []string{"true"}, WaitForWS: true})
	require.NoError(t, err)
	trace.Reset()
	secret := started.Secrets["0"]
	conn, err := c.DialWebsocket(context.Background(), started.WebsocketPath("0"))
	require.NoError(t, err)
	conn.Close()
	want := "lxdstar: WEBSOCKET /1.0/operations/" + started.Operation.ID + "/websocket?secret=REDACTED 101"
	assert.True(t, strings.HasPrefix(trace.String(), want), trace.String())
	assert.NotContains(t, trace.String(), secret)
}

func TestDialWebsocketCancelled(t *testing.T) {
	_, c := newFake(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.DialWebsocket(ctx, "/1.0/events")
	assert.Equal(t, KindCancelled, kindOf(err), "%v", err)
}
