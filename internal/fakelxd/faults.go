package fakelxd

import (
	"io"
	"net/http"
	"net/url"
	"strings"
)

// pattern selects requests: "METHOD /1.0/path", where METHOD may be "*" or
// left out (any method), a "*" segment matches any one segment and a final
// "**" any number of them. Names are matched unescaped; the query is
// ignored.
type pattern struct {
	method string
	segs   []string
}

func parsePattern(p string) pattern {
	method, path := "*", strings.TrimSpace(p)
	if i := strings.IndexByte(path, ' '); i > 0 && !strings.HasPrefix(path, "/") {
		method, path = path[:i], strings.TrimSpace(path[i+1:])
	} else if path == "*" {
		path = "/**"
	}
	var segs []string
	for _, s := range strings.Split(strings.Trim(path, "/"), "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	return pattern{method: strings.ToUpper(method), segs: segs}
}

func (p pattern) match(method string, u *url.URL) bool {
	if p.method != "*" && p.method != method {
		return false
	}
	var segs []string
	for _, s := range strings.Split(strings.Trim(u.EscapedPath(), "/"), "/") {
		if s == "" {
			continue
		}
		if x, err := url.PathUnescape(s); err == nil {
			s = x
		}
		segs = append(segs, s)
	}
	for i, ps := range p.segs {
		if ps == "**" {
			return true
		}
		if i >= len(segs) || (ps != "*" && ps != segs[i]) {
			return false
		}
	}
	return len(segs) == len(p.segs)
}

// rule is one hook on requests matching a pattern.
type rule struct {
	pattern pattern
	left    int           // uses left; negative: unlimited
	handler http.Handler  // Intercept
	gate    chan struct{} // Hold: closed on release
	failure string        // FailNext
}

// Intercept sends every request matching pattern to h instead of the
// fake's own handling (the request is still recorded). Patterns look like
// "GET /1.0/instances/*/state", "/1.0/operations/**" or "*" (everything).
// The most recent intercept wins. It returns a function that removes it.
func (s *Server) Intercept(pattern string, h http.Handler) (remove func()) {
	return s.addRule(&rule{pattern: parsePattern(pattern), left: -1, handler: h})
}

// InterceptN is Intercept for the next n matching requests only.
func (s *Server) InterceptN(pattern string, n int, h http.Handler) {
	s.addRule(&rule{pattern: parsePattern(pattern), left: n, handler: h})
}

// Hold keeps the operations started by requests matching pattern running
// (their waits block, their effects are not applied) until release is
// called. It applies to operations started after Hold; release is
// idempotent.
func (s *Server) Hold(pattern string) (release func()) {
	r := &rule{pattern: parsePattern(pattern), left: -1, gate: make(chan struct{})}
	remove := s.addRule(r)
	return func() {
		remove()
		s.mu.Lock()
		defer s.mu.Unlock()
		select {
		case <-r.gate:
		default:
			close(r.gate)
		}
	}
}

// FailNext makes the operation of the next request matching pattern fail
// with message, leaving the server untouched (as a failed LXD operation
// does). It applies to asynchronous requests only: use Intercept with
// Reply to fail a synchronous one.
func (s *Server) FailNext(pattern, message string) {
	s.addRule(&rule{pattern: parsePattern(pattern), left: 1, failure: message})
}

func (s *Server) addRule(r *rule) func() {
	s.mu.Lock()
	s.rules = append(s.rules, r)
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, x := range s.rules {
			if x == r {
				s.rules = append(s.rules[:i], s.rules[i+1:]...)
				return
			}
		}
	}
}

// use consumes one use of r; the caller holds the lock.
func (s *Server) useLocked(r *rule) {
	if r.left > 0 {
		r.left--
		if r.left == 0 {
			for i, x := range s.rules {
				if x == r {
					s.rules = append(s.rules[:i], s.rules[i+1:]...)
					break
				}
			}
		}
	}
}

// interceptLocked returns the handler of the newest intercept matching r.
func (s *Server) interceptLocked(r *http.Request) http.Handler {
	for i := len(s.rules) - 1; i >= 0; i-- {
		x := s.rules[i]
		if x.handler != nil && x.pattern.match(r.Method, r.URL) {
			s.useLocked(x)
			return x.handler
		}
	}
	return nil
}

// takeOperationRules returns the holds an operation started by r waits
// for, and the failure it must end with ("" for none).
func (s *Server) takeOperationRules(r *http.Request) (gates []chan struct{}, failure string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range append([]*rule(nil), s.rules...) {
		if !x.pattern.match(r.Method, r.URL) {
			continue
		}
		switch {
		case x.gate != nil:
			gates = append(gates, x.gate)
		case x.failure != "" && failure == "":
			failure = x.failure
			s.useLocked(x)
		}
	}
	return gates, failure
}

// Reply answers with status and body as they are: garbage, HTML, an LXD
// error of the test's own.
func Reply(status int, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
}

// Stall answers nothing until the client gives up (or the server closes).
// With a prefix it first sends status 200, a Content-Length larger than
// the prefix, and the prefix: a server dying mid-body.
func Stall(prefix string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if prefix != "" {
			w.Header().Set("Content-Length", "100000000")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, prefix)
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
		}
		<-r.Context().Done()
	})
}

// Cut writes raw bytes (a status line, headers and part of a body, or
// nothing at all) straight to the connection and closes it: a server that
// died mid-answer.
func Cut(raw string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		_, _ = buf.WriteString(raw)
		_ = buf.Flush()
		_ = conn.Close()
	})
}
