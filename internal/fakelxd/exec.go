package fakelxd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// ExecFunc plays the command of one exec: it reads x.Stdin, writes
// x.Stdout and x.Stderr and returns the exit status. When it returns, the
// fake sends LXD's end-of-stream markers, ends the operation with
// metadata.return set to the status, and closes the websockets.
type ExecFunc func(x *Exec) int

// Exec is one command run by POST /1.0/instances/<name>/exec.
type Exec struct {
	Instance, Project string
	Command           []string
	Environment       map[string]string // LXD's defaults (HOME, LANG, PATH, USER) plus the request's
	User, Group       uint32
	Cwd               string
	Interactive       bool

	// Stdin is what the client sends on websocket "0" up to its
	// end-of-stream marker (an empty text message), then io.EOF.
	Stdin io.Reader
	// Stdout and Stderr send each Write as one binary message on
	// websocket "1" and "2" (both on "0" for an interactive command);
	// without wait-for-websocket, output is discarded as LXD discards it.
	Stdout, Stderr io.Writer
	// Conns are the websockets connected when the command started, by
	// LXD's names ("0", "1", "2", and "control" if the client connected
	// it), for fault injection: ping them, close them, drop what is under
	// them. The fake reads every one of them itself; a handler must not.
	Conns map[string]*websocket.Conn
	// Killed is closed when LXD would SIGKILL the command: the client
	// closed its stdout websocket while no control websocket was
	// connected, or sent signal 9 on the control websocket.
	Killed <-chan struct{}
	// Control receives the messages the client sends on the control
	// websocket ({"command": "signal", "signal": 9}, window-resize, …).
	Control <-chan Object

	session *execSession
}

// Fail makes the operation fail with message while still reporting the
// exit status, as LXD 5.0.2 does for "Command not found" (127).
func (x *Exec) Fail(message string) {
	x.session.mu.Lock()
	x.session.failure = message
	x.session.mu.Unlock()
}

// CloseOutput sends LXD's end-of-stream marker on stdout and stderr now
// rather than when the handler returns. It is idempotent.
func (x *Exec) CloseOutput() { x.session.closeOutput() }

// Pongs counts the pongs the client answered on any of the websockets.
func (x *Exec) Pongs() int64 { return x.session.pongs.Load() }

// Context is done when the server closes: a handler that blocks should
// select on it too.
func (x *Exec) Context() context.Context { return x.session.s.ctx }

// HandleExec sets the handler of every exec started from now on (the
// default is DefaultExec).
func (s *Server) HandleExec(fn ExecFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exec = fn
}

// DefaultExec plays a few commands: true, false, echo, cat (stdin to
// stdout), env (the environment, sorted), pwd, and sleep N (ended early by
// a kill, with status 137). Anything else is "Command not found" with
// status 127, as LXD 5.0.2 reports it.
func DefaultExec(x *Exec) int {
	args := x.Command[1:]
	switch x.Command[0] {
	case "true":
		return 0
	case "false":
		return 1
	case "echo":
		fmt.Fprintln(x.Stdout, strings.Join(args, " "))
		return 0
	case "cat":
		if _, err := io.Copy(x.Stdout, x.Stdin); err != nil {
			return 1
		}
		return 0
	case "env":
		for _, k := range slices.Sorted(maps.Keys(x.Environment)) {
			fmt.Fprintf(x.Stdout, "%s=%s\n", k, x.Environment[k])
		}
		return 0
	case "pwd":
		fmt.Fprintln(x.Stdout, x.Cwd)
		return 0
	case "sleep":
		secs := 0.0
		if len(args) > 0 {
			secs, _ = strconv.ParseFloat(args[0], 64)
		}
		select {
		case <-time.After(time.Duration(secs * float64(time.Second))):
			return 0
		case <-x.Killed:
			return 137
		case <-x.Context().Done():
			return 137
		}
	}
	x.Fail("Command not found")
	return 127
}

// execRequest is the body of POST /1.0/instances/<name>/exec.
type execRequest struct {
	Command     []string          `json:"command"`
	Environment map[string]string `json:"environment"`
	WaitForWS   bool              `json:"wait-for-websocket"`
	Interactive bool              `json:"interactive"`
	User        uint32            `json:"user"`
	Group       uint32            `json:"group"`
	Cwd         string            `json:"cwd"`
}

// execSession is the websockets and state of one exec.
type execSession struct {
	s       *Server
	secrets map[string]string // LXD's fd names → secret
	need    []string          // the fds that start the command once connected

	mu        sync.Mutex
	conns     map[string]*websocket.Conn
	claimed   map[string]bool // fds connected or being connected
	writeLock map[string]*sync.Mutex
	started   bool
	failure   string
	outClosed bool

	stdin    *pipe
	killed   chan struct{}
	killOnce sync.Once
	control  chan Object
	pongs    atomic.Int64
	result   chan int // the exit status, once the handler returned

	x       *Exec
	handler ExecFunc
	op      *operation
}

// exec starts a command in the instance (it must be running).
func (q *query) exec(e *entry) {
	var req execRequest
	if !q.decode(&req) {
		return
	}
	switch status, _ := e.obj["status"].(string); status {
	case "Running":
	case "Frozen":
		q.fail(http.StatusBadRequest, "Instance is frozen")
		return
	default:
		q.fail(http.StatusBadRequest, "Instance is not running")
		return
	}
	env := map[string]string{"HOME": "/root", "LANG": "C.UTF-8", "USER": "root",
		"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	for k, v := range req.Environment {
		env[k] = v
	}
	if req.Cwd == "" {
		req.Cwd = env["HOME"]
	}
	sess := &execSession{s: q.s, secrets: map[string]string{}, conns: map[string]*websocket.Conn{}, claimed: map[string]bool{},
		writeLock: map[string]*sync.Mutex{}, stdin: newPipe(), killed: make(chan struct{}),
		control: make(chan Object, 64), result: make(chan int, 1)}
	fds := []string{"0", "1", "2", "control"}
	sess.need = []string{"0", "1", "2"}
	if req.Interactive {
		fds, sess.need = []string{"0", "control"}, []string{"0"}
	}
	// LXD 5.0.2 shows the command in the operation only when it waits
	// for websockets.
	var md Object
	class := "task"
	if req.WaitForWS {
		md = Object{"command": cloneAny(req.Command), "environment": cloneAny(env), "interactive": req.Interactive}
		class = "websocket"
		secrets := Object{}
		for _, fd := range fds {
			sess.secrets[fd] = strings.ReplaceAll(newID()+newID(), "-", "")
			secrets[fd] = sess.secrets[fd]
			sess.writeLock[fd] = &sync.Mutex{}
		}
		md["fds"] = secrets
	} else {
		sess.stdin.closeWrite()
	}
	x := &Exec{Instance: e.name(), Project: e.project, Command: req.Command, Environment: env,
		User: req.User, Group: req.Group, Cwd: req.Cwd, Interactive: req.Interactive,
		Stdin: sess.stdin, Stdout: sess.writer("1"), Stderr: sess.writer("2"),
		Killed: sess.killed, Control: sess.control, session: sess}
	if req.Interactive {
		x.Stderr = sess.writer("0")
		x.Stdout = x.Stderr
	}
	sess.x = x
	q.s.mu.Lock()
	sess.handler = q.s.exec
	q.s.mu.Unlock()
	op := q.start(opSpec{class: class, description: "Executing command", resources: resourcesOf(e.kind, e.path),
		metadata: md, run: func(ctx context.Context) (Object, error) {
			if len(req.Command) == 0 {
				return nil, errors.New("Failed to retrieve PID of executing child process") // LXD 5.0.2, measured
			}
			select {
			case code := <-sess.result:
				sess.mu.Lock()
				failure := sess.failure
				sess.mu.Unlock()
				if failure != "" {
					return Object{"return": code}, errors.New(failure)
				}
				return Object{"return": code}, nil
			case <-ctx.Done():
				return nil, errors.New("fakelxd: server closed")
			}
		}})
	q.s.mu.Lock()
	op.sockets = sess
	q.s.mu.Unlock()
	sess.op = op
	if !req.WaitForWS {
		sess.run()
	}
	q.async(op)
}

// operationWebsocket connects one of an exec's websockets.
func (q *query) operationWebsocket(op *operation) {
	q.s.mu.Lock()
	sess := op.sockets
	q.s.mu.Unlock()
	secret := q.r.URL.Query().Get("secret")
	fd := ""
	if sess != nil {
		for name, s := range sess.secrets {
			if s == secret {
				fd = name
			}
		}
	}
	if fd == "" {
		q.fail(http.StatusInternalServerError, "permission denied") // LXD 5.0.2's answer to a wrong secret
		return
	}
	// Claimed before the handshake completes: once the client sees its
	// control socket connected, a closed stdout must no longer kill.
	sess.mu.Lock()
	taken := sess.claimed[fd]
	sess.claimed[fd] = true
	sess.mu.Unlock()
	if taken {
		q.fail(http.StatusInternalServerError, "permission denied")
		return
	}
	conn, err := q.s.upgrade(q.w, q.r)
	if err != nil {
		sess.mu.Lock()
		delete(sess.claimed, fd)
		sess.mu.Unlock()
		return
	}
	conn.SetPongHandler(func(string) error { sess.pongs.Add(1); return nil })
	sess.mu.Lock()
	sess.conns[fd] = conn
	start := !sess.started
	for _, n := range sess.need {
		if sess.conns[n] == nil {
			start = false
		}
	}
	sess.started = sess.started || start
	sess.mu.Unlock()
	go sess.read(fd, conn)
	if start {
		sess.run()
	}
}

// run plays the command in the background, then ends the exec as LXD does:
// markers, operation end, websockets closed.
func (sess *execSession) run() {
	x, op := sess.x, sess.op
	sess.mu.Lock()
	x.Conns = make(map[string]*websocket.Conn, len(sess.conns))
	for k, v := range sess.conns {
		x.Conns[k] = v
	}
	sess.mu.Unlock()
	go func() {
		code := 0
		if len(x.Command) > 0 { // LXD fails the operation of an empty command
			code = sess.handler(x)
		}
		sess.closeOutput()
		sess.result <- code
		select {
		case <-op.done:
		case <-sess.s.ctx.Done():
		}
		sess.mu.Lock()
		conns := make([]*websocket.Conn, 0, len(sess.conns))
		for fd, c := range sess.conns {
			conns = append(conns, c)
			sess.writeLock[fd].Lock()
			_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
				time.Now().Add(time.Second))
			sess.writeLock[fd].Unlock()
		}
		sess.mu.Unlock()
		for _, c := range conns {
			sess.s.closeConn(c)
		}
	}()
}

// read reads one websocket until it closes: stdin's data goes to the
// command, control messages to Control; a closed stdout without control
// is a kill. Reading also lets pongs be counted.
func (sess *execSession) read(fd string, conn *websocket.Conn) {
	defer func() {
		if fd == "0" {
			sess.stdin.closeWrite()
		}
	}()
	for {
		mt, data, err := conn.ReadMessage()
		if err != nil {
			sess.mu.Lock()
			control := sess.claimed["control"]
			sess.mu.Unlock()
			if fd == "1" && !control {
				sess.kill()
			}
			return
		}
		switch fd {
		case "0":
			if mt == websocket.TextMessage && !sess.interactive() {
				sess.stdin.closeWrite() // LXD's end-of-stream marker
			} else {
				sess.stdin.write(data)
			}
		case "control":
			var msg Object
			if json.Unmarshal(data, &msg) != nil {
				continue
			}
			select {
			case sess.control <- msg:
			default:
			}
			if msg["command"] == "signal" && fmt.Sprint(msg["signal"]) == "9" {
				sess.kill()
			}
		}
	}
}

// interactive: one websocket carries the terminal both ways.
func (sess *execSession) interactive() bool { return len(sess.need) == 1 }

func (sess *execSession) kill() { sess.killOnce.Do(func() { close(sess.killed) }) }

// closeOutput sends the end-of-stream markers once.
func (sess *execSession) closeOutput() {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.outClosed || sess.interactive() {
		return
	}
	sess.outClosed = true
	for _, fd := range []string{"1", "2"} {
		if c := sess.conns[fd]; c != nil {
			sess.writeLock[fd].Lock()
			_ = c.WriteMessage(websocket.TextMessage, nil)
			sess.writeLock[fd].Unlock()
		}
	}
}

// writer sends each Write as one binary message on websocket fd.
func (sess *execSession) writer(fd string) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		sess.mu.Lock()
		c, lock := sess.conns[fd], sess.writeLock[fd]
		closed := sess.outClosed && fd != "0"
		sess.mu.Unlock()
		if c == nil {
			return len(p), nil // no websocket: LXD discards the output
		}
		if closed {
			return 0, errors.New("fakelxd: output written after the end-of-stream marker")
		}
		lock.Lock()
		defer lock.Unlock()
		if err := c.WriteMessage(websocket.BinaryMessage, p); err != nil {
			return 0, err
		}
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// pipe is an unbounded buffer: the fake reads stdin as it arrives (so pings
// and closes are seen) whether or not the command reads it.
type pipe struct {
	mu     sync.Mutex
	cond   *sync.Cond
	buf    []byte
	closed bool
}

func newPipe() *pipe {
	p := &pipe{}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *pipe) write(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.buf = append(p.buf, b...)
		p.cond.Broadcast()
	}
}

func (p *pipe) closeWrite() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.cond.Broadcast()
}

func (p *pipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.buf) == 0 && !p.closed {
		p.cond.Wait()
	}
	if len(p.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.buf)
	p.buf = p.buf[n:]
	return n, nil
}
