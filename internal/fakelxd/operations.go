package fakelxd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// operation is one background operation, as GET /1.0/operations/<id>
// shows it. Its fields are guarded by the Server's mutex.
type operation struct {
	id, class, description string
	created, updated       time.Time
	status                 string
	code                   int
	resources              map[string][]string
	metadata               Object
	err                    string
	mayCancel              bool
	project                string

	initial  Object        // as it was created: what the async answer shows
	done     chan struct{} // closed when the operation ends
	cancel   chan struct{} // closed by DELETE /1.0/operations/<id>
	sockets  *execSession  // exec only: its websockets
	finished bool
}

func (o *operation) render() Object {
	var md any
	if o.metadata != nil {
		md = cloneObject(o.metadata)
	}
	var res any
	if o.resources != nil {
		r := Object{}
		for k, v := range o.resources {
			r[k] = cloneAny(v)
		}
		res = r
	}
	return Object{"id": o.id, "class": o.class, "description": o.description,
		"created_at": o.created.Format(time.RFC3339Nano), "updated_at": o.updated.Format(time.RFC3339Nano),
		"status": o.status, "status_code": o.code, "resources": res, "metadata": md,
		"may_cancel": o.mayCancel, "err": o.err, "location": "none"}
}

// opSpec is the work of one operation.
type opSpec struct {
	class       string // "task" (default) or "websocket"
	description string
	resources   map[string][]string
	metadata    Object
	mayCancel   bool
	// run does the work in the background, once every Hold on the
	// request that started it is released. It takes the Server's lock
	// itself when it touches the store. The metadata it returns is
	// merged into the operation's, even when it fails.
	run func(ctx context.Context) (Object, error)
}

// errCancelled ends an operation as Cancelled rather than Failure.
var errCancelled = errors.New("operation cancelled")

// start creates an operation for the request being served and runs it in
// the background: the caller answers with q.async(op).
func (q *query) start(spec opSpec) *operation {
	gates, failure := q.s.takeOperationRules(q.r)
	return q.s.startOperation(spec, q.project, gates, failure)
}

func (s *Server) startOperation(spec opSpec, project string, gates []chan struct{}, failure string) *operation {
	now := time.Now().UTC()
	class := spec.class
	if class == "" {
		class = "task"
	}
	op := &operation{id: newID(), class: class, description: spec.description, created: now, updated: now,
		status: "Running", code: 103, resources: spec.resources, metadata: spec.metadata, mayCancel: spec.mayCancel,
		project: project, done: make(chan struct{}), cancel: make(chan struct{})}
	s.mu.Lock()
	s.ops[op.id] = op
	s.opOrder = append(s.opOrder, op.id)
	op.initial = op.render()
	s.emitLocked("operation", op.render(), project)
	s.mu.Unlock()
	go func() {
		for _, g := range gates {
			select {
			case <-g:
			case <-s.ctx.Done():
				s.finish(op, nil, errors.New("fakelxd: server closed"))
				return
			}
		}
		if failure != "" {
			s.finish(op, nil, errors.New(failure))
			return
		}
		ctx, cancel := context.WithCancel(s.ctx)
		defer cancel()
		go func() {
			select {
			case <-op.cancel:
				cancel()
			case <-ctx.Done():
			}
		}()
		md, err := spec.run(ctx)
		select {
		case <-op.cancel:
			err = errCancelled
		default:
		}
		s.finish(op, md, err)
	}()
	return op
}

// finish ends op; LXD forgets it ForgetAfter later.
func (s *Server) finish(op *operation, md Object, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if op.finished {
		return
	}
	op.finished = true
	op.updated = time.Now().UTC()
	if md != nil {
		if op.metadata == nil {
			op.metadata = Object{}
		}
		for k, v := range md {
			op.metadata[k] = v
		}
	}
	switch {
	case errors.Is(err, errCancelled):
		op.status, op.code = "Cancelled", 401
	case err != nil:
		op.status, op.code, op.err = "Failure", 400, err.Error()
	default:
		op.status, op.code = "Success", 200
	}
	close(op.done)
	s.emitLocked("operation", op.render(), op.project)
	time.AfterFunc(s.cfg.ForgetAfter, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.ops, op.id)
		for i, id := range s.opOrder {
			if id == op.id {
				s.opOrder = append(s.opOrder[:i], s.opOrder[i+1:]...)
				break
			}
		}
	})
}

// StartOperation starts an operation of the test's own, as if some request
// had: run does its work (blocking as long as the test wants) and returns
// the operation's metadata, or an error that fails it with that message.
// It returns the operation's id.
func (s *Server) StartOperation(description string, run func(ctx context.Context) (Object, error)) string {
	return s.startOperation(opSpec{description: description, run: run}, "default", nil, "").id
}

// Operation returns an operation as GET /1.0/operations/<id> would, and
// false once LXD would have forgotten it.
func (s *Server) Operation(id string) (Object, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	op, ok := s.ops[id]
	if !ok {
		return nil, false
	}
	return op.render(), true
}

// Operations returns every operation not yet forgotten, oldest first.
func (s *Server) Operations() []Object {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Object, 0, len(s.opOrder))
	for _, id := range s.opOrder {
		out = append(out, s.ops[id].render())
	}
	return out
}

// operations serves /1.0/operations and below.
func (q *query) operations() {
	segs, m := q.segs, q.r.Method
	if len(segs) == 1 {
		if m != http.MethodGet {
			q.fail(http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		q.listOperations()
		return
	}
	q.s.mu.Lock()
	op := q.s.ops[segs[1]]
	q.s.mu.Unlock()
	if op == nil {
		q.fail(http.StatusNotFound, "Operation not found")
		return
	}
	switch {
	case len(segs) == 2 && m == http.MethodGet:
		q.s.mu.Lock()
		r := op.render()
		q.s.mu.Unlock()
		q.sync(http.StatusOK, r)
	case len(segs) == 2 && m == http.MethodDelete:
		q.cancelOperation(op)
	case len(segs) == 3 && segs[2] == "wait" && m == http.MethodGet:
		q.waitOperation(op)
	case len(segs) == 3 && segs[2] == "websocket" && m == http.MethodGet:
		q.operationWebsocket(op)
	default:
		q.fail(http.StatusNotFound, "not found")
	}
}

// listOperations answers LXD's map of operations by status.
func (q *query) listOperations() {
	s := q.s
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Object{}
	for _, id := range s.opOrder {
		op := s.ops[id]
		if op.project != q.project && q.r.URL.Query().Get("all-projects") != "true" {
			continue
		}
		key := strings.ToLower(op.status)
		list, _ := out[key].([]any)
		if q.recursion() > 0 {
			out[key] = append(list, op.render())
		} else {
			out[key] = append(list, "/1.0/operations/"+op.id)
		}
	}
	q.sync(http.StatusOK, out)
}

// waitOperation is the server-side long poll: it answers when the
// operation ends or ?timeout= seconds pass (-1 or none: no limit), with the
// operation as it then is, Running included.
func (q *query) waitOperation(op *operation) {
	timeout := -1
	if t := q.r.URL.Query().Get("timeout"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			q.fail(http.StatusBadRequest, fmt.Sprintf("invalid timeout %q", t))
			return
		}
		timeout = n
	}
	var expired <-chan time.Time
	if timeout >= 0 {
		t := time.NewTimer(time.Duration(timeout) * time.Second)
		defer t.Stop()
		expired = t.C
	}
	select {
	case <-op.done:
	case <-expired:
	case <-q.r.Context().Done():
		return
	case <-q.s.ctx.Done():
		return
	}
	q.s.mu.Lock()
	r := op.render()
	q.s.mu.Unlock()
	q.sync(http.StatusOK, r)
}

func (q *query) cancelOperation(op *operation) {
	q.s.mu.Lock()
	running, may := !op.finished, op.mayCancel
	q.s.mu.Unlock()
	switch {
	case !running:
		q.fail(http.StatusBadRequest, "Only running operations can be cancelled")
	case !may:
		q.fail(http.StatusBadRequest, "This operation can't be cancelled")
	default:
		q.s.mu.Lock()
		select {
		case <-op.cancel:
		default:
			close(op.cancel)
		}
		q.s.mu.Unlock()
		q.sync(http.StatusOK, Object{})
	}
}

// newID makes an operation id or a websocket secret.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// resources is an operation's "resources" for one object.
func resourcesOf(k *kind, path string) map[string][]string {
	switch k {
	case instanceKind, snapshotKind, backupKind:
		segs := pathSegments(path)
		inst := objectPath("instances", segs[1])
		res := map[string][]string{"instances": {inst}, "containers": {strings.Replace(inst, "/instances/", "/containers/", 1)}}
		if k == backupKind {
			res["backups"] = []string{objectPath("backups", segs[3])} // sic: LXD 5.0.2's path
		}
		return res
	case imageKind:
		return map[string][]string{"images": {path}}
	}
	return nil
}

// pathSegments splits an escaped "/1.0/a/b" into its unescaped segments
// below /1.0.
func pathSegments(path string) []string {
	var out []string
	for _, s := range strings.Split(strings.TrimPrefix(path, "/1.0/"), "/") {
		u, err := unescape(s)
		if err != nil {
			u = s
		}
		out = append(out, u)
	}
	return out
}
