package fakelxd

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Listener is one client connected to /1.0/events.
type Listener struct {
	// Query is the query the client connected with (type=, project=, …).
	Query url.Values

	conn  *websocket.Conn
	wmu   sync.Mutex
	pongs atomic.Int64
	done  chan struct{}
	queue chan []byte // events raised by the server, written in order

	types       map[string]bool
	project     string
	allProjects bool
}

// Send writes raw bytes as one event message, whatever they hold.
func (l *Listener) Send(raw []byte) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	return l.conn.WriteMessage(websocket.TextMessage, raw)
}

// Ping sends a websocket ping; Pongs counts the answers.
func (l *Listener) Ping() error {
	return l.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second))
}

// Pongs is the number of pongs the client has sent.
func (l *Listener) Pongs() int64 { return l.pongs.Load() }

// Drop closes the connection without a close frame, as a crashed server
// or a cut cable would.
func (l *Listener) Drop() { _ = l.conn.UnderlyingConn().Close() }

// Done is closed once the client has gone away.
func (l *Listener) Done() <-chan struct{} { return l.done }

func (l *Listener) wants(typ, project string) bool {
	if l.types != nil && !l.types[typ] {
		return false
	}
	return l.allProjects || project == "" || project == l.project
}

// events upgrades a GET /1.0/events to a websocket that receives the
// events of the requested types (default: all) in the request's project.
func (q *query) events() {
	if q.r.Method != http.MethodGet {
		q.fail(http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	qs := q.r.URL.Query()
	l := &Listener{Query: qs, done: make(chan struct{}), queue: make(chan []byte, 4096),
		project: q.project, allProjects: qs.Get("all-projects") == "true"}
	if t := qs.Get("type"); t != "" {
		l.types = map[string]bool{}
		for _, x := range strings.Split(t, ",") {
			l.types[strings.TrimSpace(x)] = true
		}
	}
	// Registered before the handshake completes: an event raised right
	// after the client's dial returns must reach it.
	q.s.mu.Lock()
	q.s.listeners = append(q.s.listeners, l)
	q.s.mu.Unlock()
	conn, err := q.s.upgrade(q.w, q.r)
	if err != nil {
		close(l.done)
		return
	}
	conn.SetPongHandler(func(string) error { l.pongs.Add(1); return nil })
	q.s.mu.Lock()
	l.conn = conn
	q.s.mu.Unlock()
	go func() {
		defer close(l.done)
		defer q.s.closeConn(conn)
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()
	// Events are written by their own goroutine: a client slow to read
	// must not block the server, which raises events holding its lock.
	go func() {
		for {
			select {
			case data := <-l.queue:
				_ = l.Send(data)
			case <-l.done:
				return
			}
		}
	}()
}

// Listeners returns every events client that connected so far (gone ones
// included), oldest first.
func (s *Server) Listeners() []*Listener {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Listener
	for _, l := range s.listeners {
		if l.conn != nil {
			out = append(out, l)
		}
	}
	return out
}

// WaitListeners waits (up to 5 s) until n events clients have connected
// in all and returns them: a client's handshake can complete before the
// fake has registered it.
func (s *Server) WaitListeners(n int) []*Listener {
	deadline := time.Now().Add(5 * time.Second)
	for {
		ls := s.Listeners()
		if len(ls) >= n || time.Now().After(deadline) {
			return ls
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Emit sends an event to every connected listener that wants it, in order
// but asynchronously (Listener.Send writes at once). ev needs "type" and
// "metadata"; "timestamp" and "location" are filled in when absent.
func (s *Server) Emit(ev Object) {
	s.mu.Lock()
	defer s.mu.Unlock()
	typ, _ := ev["type"].(string)
	project, _ := ev["project"].(string)
	s.sendLocked(typ, project, ev)
}

// emitLocked sends an event the fake itself raises (operation and
// lifecycle events, as LXD does).
func (s *Server) emitLocked(typ string, metadata Object, project string) {
	if len(s.listeners) == 0 {
		return
	}
	s.sendLocked(typ, project, Object{"type": typ, "metadata": metadata, "project": project})
}

// lifecycleLocked raises a lifecycle event about the object at path.
func (s *Server) lifecycleLocked(action, source, project string) {
	s.emitLocked("lifecycle", Object{"action": action, "source": source, "context": Object{}}, project)
}

func (s *Server) sendLocked(typ, project string, ev Object) {
	if _, ok := ev["timestamp"]; !ok {
		ev["timestamp"] = time.Now().UTC().Format(time.RFC3339Nano)
	}
	if _, ok := ev["location"]; !ok {
		ev["location"] = "none"
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return
	}
	for _, l := range s.listeners {
		select {
		case <-l.done:
			continue
		default:
		}
		if l.wants(typ, project) {
			select {
			case l.queue <- data:
			default: // a client that stopped reading loses events, as with LXD
			}
		}
	}
}

// upgrade turns a request into a websocket the server closes when it
// stops.
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.conns[conn] = true
	s.mu.Unlock()
	return conn, nil
}

// closeConn closes a websocket and forgets it.
func (s *Server) closeConn(conn *websocket.Conn) {
	_ = conn.Close()
	s.mu.Lock()
	delete(s.conns, conn)
	s.mu.Unlock()
}
