package rest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func echoServer(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	mt, data, err := conn.ReadMessage()
	if err == nil {
		_ = conn.WriteMessage(mt, append([]byte(r.URL.RawQuery+":"), data...))
	}
}

func TestDialWebsocketOverTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(echoServer))
	defer srv.Close()
	c, err := New(Config{Endpoint: srv.URL, Insecure: true})
	require.NoError(t, err)
	conn, err := c.DialWebsocket(context.Background(), "/1.0/x?secret=abc")
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.WriteMessage(websocket.BinaryMessage, []byte("hi")))
	_, data, err := conn.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "secret=abc:hi", string(data))
}

func TestDialWebsocketVerifiesServer(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(echoServer))
	defer srv.Close()
	c, err := New(Config{Endpoint: srv.URL}) // verification on: self-signed is refused
	require.NoError(t, err)
	_, err = c.DialWebsocket(context.Background(), "/1.0/x")
	require.Error(t, err)
	assert.Equal(t, KindConnection, kindOf(err))
}

func TestDialWebsocketTraceHidesSecret(t *testing.T) {
	var trace bytes.Buffer
	c := fakeLXD(t, echoServer, Config{Trace: &trace})
	conn, err := c.DialWebsocket(context.Background(), OperationWebsocketPath("op1", "s3cr3t"))
	require.NoError(t, err)
	conn.Close()
	assert.True(t, strings.HasPrefix(trace.String(), "lxdstar: WEBSOCKET /1.0/operations/op1/websocket?secret=REDACTED 101"), trace.String())
	assert.NotContains(t, trace.String(), "s3cr3t")
}

func TestDialWebsocketCancelled(t *testing.T) {
	c := fakeLXD(t, echoServer, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.DialWebsocket(ctx, "/1.0/x")
	assert.Equal(t, KindCancelled, kindOf(err), "%v", err)
}
