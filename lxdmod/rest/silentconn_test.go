package rest

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/lxdstar/lxdstar/internal/fakelxd"
	"github.com/stretchr/testify/require"
)

// After a burst of concurrent requests the client leaves no connection that
// has sent nothing: on LXD's and Incus's socket (reproduced by the fake) one
// such connection holds up every other client's requests, LXD's own
// container start hooks among them, until it is used or closed.
func TestConcurrentRequestsLeaveNoSilentConnection(t *testing.T) {
	f, c := newFake(t, Config{})
	f.Intercept("GET /1.0/instances", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond) // requests end while others still connect
		fakelxd.Reply(200, `{"type":"sync","status":"Success","status_code":200,"metadata":[]}`).ServeHTTP(w, r)
	}))
	// A connect that takes a while, as on a loaded machine, lets a request
	// that waits for a connection be served by one freed meanwhile: the
	// transport then keeps the late one, unused, for later.
	connect := c.dial
	c.dial = func(ctx context.Context) (net.Conn, error) {
		time.Sleep(20 * time.Millisecond)
		return connect(ctx)
	}
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * time.Millisecond) // arrivals spread out
			for range 4 {
				if _, err := c.Do(context.Background(), &Request{Method: "GET", Path: "/1.0/instances"}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	// Another client: a new connection that asks at once.
	conn, err := net.Dial("unix", f.Endpoint())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = conn.Write([]byte("GET /1.0 HTTP/1.0\r\nHost: x\r\n\r\n"))
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "the server is held up by a connection that sent nothing")
	resp.Body.Close()
}
