package main

// A minimal LXD REST client over the unix socket, written with net/http
// (and gorilla/websocket for exec's streams) alone. The harness uses it to
// create, verify and clean up the bench instances and to measure LXD's own
// floor for exec, so that nothing it checks depends on the lxdstar code
// under test.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lxdstar/lxdstar/internal/lazyconn"
)

type rawClient struct {
	socket string
	hc     *http.Client
}

func newRawClient(socket string) *rawClient {
	tr := &http.Transport{
		// Connections that connect on their first write: a spare one the
		// Transport keeps would hold up LXD's whole socket (see
		// internal/lazyconn).
		DialContext:         lazyconn.Unix(socket),
		MaxIdleConnsPerHost: 16,
	}
	return &rawClient{socket: socket, hc: &http.Client{Transport: tr}}
}

// envelope is LXD's response envelope.
type envelope struct {
	Type       string          `json:"type"`
	Status     string          `json:"status"`
	StatusCode int             `json:"status_code"`
	Operation  string          `json:"operation"`
	ErrorCode  int             `json:"error_code"`
	Error      string          `json:"error"`
	Metadata   json.RawMessage `json:"metadata"`
}

type apiError struct {
	Code int
	Msg  string
}

func (e *apiError) Error() string { return fmt.Sprintf("LXD error %d: %s", e.Code, e.Msg) }

func isNotFound(err error) bool {
	ae, ok := err.(*apiError)
	return ok && ae.Code == http.StatusNotFound
}

// do sends one request; body is JSON-encoded unless it is a []byte.
func (c *rawClient) do(ctx context.Context, method, path string, body any) (*envelope, error) {
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, ctype = bytes.NewReader(b), "application/octet-stream"
	default:
		js, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd, ctype = bytes.NewReader(js), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://lxd"+path, rd)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("%s %s: bad response (HTTP %d): %.200q", method, path, resp.StatusCode, data)
	}
	if env.Type == "error" || resp.StatusCode >= 400 {
		return nil, &apiError{Code: resp.StatusCode, Msg: fmt.Sprintf("%s %s: %s", method, path, env.Error)}
	}
	return &env, nil
}

// wait waits for an async response's operation and fails if it failed.
func (c *rawClient) wait(ctx context.Context, env *envelope) (map[string]any, error) {
	if env.Type != "async" {
		return nil, nil
	}
	w, err := c.do(ctx, "GET", env.Operation+"/wait?timeout=120", nil)
	if err != nil {
		return nil, err
	}
	var op struct {
		Status   string         `json:"status"`
		Err      string         `json:"err"`
		Metadata map[string]any `json:"metadata"`
	}
	if err := json.Unmarshal(w.Metadata, &op); err != nil {
		return nil, err
	}
	if op.Status != "Success" {
		return op.Metadata, fmt.Errorf("operation %s: %s %s", env.Operation, op.Status, op.Err)
	}
	return op.Metadata, nil
}

func (c *rawClient) doWait(ctx context.Context, method, path string, body any) error {
	env, err := c.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	_, err = c.wait(ctx, env)
	return err
}

func instPath(name string, rest ...string) string {
	p := "/1.0/instances/" + url.PathEscape(name)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// serverVersion returns LXD's version and API extension count.
func (c *rawClient) serverVersion(ctx context.Context) (string, int, error) {
	env, err := c.do(ctx, "GET", "/1.0", nil)
	if err != nil {
		return "", 0, err
	}
	var m struct {
		APIExtensions []string `json:"api_extensions"`
		Environment   struct {
			ServerVersion string `json:"server_version"`
		} `json:"environment"`
	}
	if err := json.Unmarshal(env.Metadata, &m); err != nil {
		return "", 0, err
	}
	return m.Environment.ServerVersion, len(m.APIExtensions), nil
}

// createInstance creates a container from image and optionally starts it.
func (c *rawClient) createInstance(ctx context.Context, name, image string, start bool) error {
	body := map[string]any{"name": name, "source": map[string]any{"type": "image", "alias": image}}
	if err := c.doWait(ctx, "POST", "/1.0/instances", body); err != nil {
		return fmt.Errorf("creating %s: %w", name, err)
	}
	if start {
		if err := c.doWait(ctx, "PUT", instPath(name, "state"), map[string]any{"action": "start", "timeout": 30}); err != nil {
			return fmt.Errorf("starting %s: %w", name, err)
		}
	}
	return nil
}

// createMany creates names concurrently (at most par at a time).
func (c *rawClient) createMany(ctx context.Context, names []string, image string, par int) error {
	return forEach(names, par, func(n string) error { return c.createInstance(ctx, n, image, false) })
}

// forEach runs fn for every name, at most par at a time, and returns the
// first error after all have finished.
func forEach(names []string, par int, fn func(name string) error) error {
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for _, n := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(n); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// deleteInstance force-stops and deletes name; a missing instance is fine.
// An instance caught in the middle of an operation (a start by a tool that
// was just killed) is retried for a while.
func (c *rawClient) deleteInstance(ctx context.Context, name string) error {
	var err error
	for attempt := range 10 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(time.Second):
			}
		}
		err = c.doWait(ctx, "PUT", instPath(name, "state"), map[string]any{"action": "stop", "force": true, "timeout": -1})
		if isNotFound(err) {
			return nil
		}
		// Stopping a stopped instance fails; that is fine, delete decides.
		err = c.doWait(ctx, "DELETE", instPath(name), nil)
		if err == nil || isNotFound(err) {
			return nil
		}
	}
	return err
}

// deleteMany deletes names concurrently (at most par at a time).
func (c *rawClient) deleteMany(ctx context.Context, names []string, par int) error {
	return forEach(names, par, func(n string) error { return c.deleteInstance(ctx, n) })
}

type instanceInfo struct {
	Name      string            `json:"name"`
	Status    string            `json:"status"`
	CreatedAt time.Time         `json:"created_at"`
	Config    map[string]string `json:"config"`
}

// instances lists every instance (recursion=1).
func (c *rawClient) instances(ctx context.Context) ([]instanceInfo, error) {
	env, err := c.do(ctx, "GET", "/1.0/instances?recursion=1", nil)
	if err != nil {
		return nil, err
	}
	var list []instanceInfo
	err = json.Unmarshal(env.Metadata, &list)
	return list, err
}

// namesWithPrefix lists the instances whose name starts with prefix.
func (c *rawClient) namesWithPrefix(ctx context.Context, prefix string) ([]string, error) {
	env, err := c.do(ctx, "GET", "/1.0/instances", nil)
	if err != nil {
		return nil, err
	}
	var urls []string
	if err := json.Unmarshal(env.Metadata, &urls); err != nil {
		return nil, err
	}
	var names []string
	for _, u := range urls {
		n := u[strings.LastIndex(u, "/")+1:]
		if un, err := url.PathUnescape(n); err == nil {
			n = un
		}
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	return names, nil
}

func filePath(name, path string) string {
	return instPath(name, "files") + "?path=" + url.QueryEscape(path)
}

func (c *rawClient) putFile(ctx context.Context, name, path string, data []byte) error {
	_, err := c.do(ctx, "POST", filePath(name, path), data)
	return err
}

// getFile reads a file; files come back raw, not in an envelope.
func (c *rawClient) getFile(ctx context.Context, name, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://lxd"+filePath(name, path), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &apiError{Code: resp.StatusCode, Msg: fmt.Sprintf("GET file %s%s: %.200s", name, path, data)}
	}
	return data, nil
}

func (c *rawClient) deleteFile(ctx context.Context, name, path string) error {
	_, err := c.do(ctx, "DELETE", filePath(name, path), nil)
	if isNotFound(err) {
		return nil
	}
	return err
}

// execNoWebsocket runs a command without websockets or recorded output
// (POST exec, then wait for the operation) and returns its exit status:
// the least any client can ask of LXD to run a command.
func (c *rawClient) execNoWebsocket(ctx context.Context, name string, cmd []string) (int, error) {
	env, err := c.do(ctx, "POST", instPath(name, "exec"), map[string]any{
		"command": cmd, "wait-for-websocket": false, "interactive": false, "record-output": false,
	})
	if err != nil {
		return 0, err
	}
	md, err := c.wait(ctx, env)
	if err != nil {
		return 0, err
	}
	code, ok := md["return"].(float64)
	if !ok {
		return 0, fmt.Errorf("exec %v: no exit status in %v", cmd, md)
	}
	return int(code), nil
}

// execWithWebsockets runs a command the cheapest way that still returns its
// output: POST exec waiting for websockets, stdin, stdout and stderr dialled
// at once (the fewest LXD accepts: control is optional), stdin closed at
// once, both output streams read up to LXD's end marker, then the
// operation's exit status. It returns the exit status and stdout.
func (c *rawClient) execWithWebsockets(ctx context.Context, name string, cmd []string) (int, string, error) {
	env, err := c.do(ctx, "POST", instPath(name, "exec"), map[string]any{
		"command": cmd, "wait-for-websocket": true, "interactive": false,
	})
	if err != nil {
		return 0, "", err
	}
	var op struct {
		Metadata struct {
			Fds map[string]string `json:"fds"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(env.Metadata, &op); err != nil {
		return 0, "", err
	}
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, "unix", c.socket)
	}}
	var conns [3]*websocket.Conn
	var errs [3]error
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := "ws://lxd" + env.Operation + "/websocket?secret=" + url.QueryEscape(op.Metadata.Fds[strconv.Itoa(i)])
			conns[i], _, errs[i] = d.DialContext(ctx, u, nil)
		}()
	}
	wg.Wait()
	defer func() {
		for _, conn := range conns {
			if conn != nil {
				conn.Close()
			}
		}
	}()
	for _, err := range errs {
		if err != nil {
			return 0, "", fmt.Errorf("exec %v: websocket: %w", cmd, err)
		}
	}
	if err := conns[0].WriteMessage(websocket.TextMessage, nil); err != nil { // end of stdin
		return 0, "", err
	}
	var outs [2]strings.Builder
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mt, data, err := conns[i+1].ReadMessage()
				if err != nil || mt == websocket.TextMessage {
					return
				}
				outs[i].Write(data)
			}
		}()
	}
	md, err := c.wait(ctx, env)
	wg.Wait()
	if err != nil {
		return 0, "", err
	}
	code, ok := md["return"].(float64)
	if !ok {
		return 0, "", fmt.Errorf("exec %v: no exit status in %v", cmd, md)
	}
	return int(code), outs[0].String(), nil
}

// fileSHA256 streams a file of an instance and returns its sha256 and size.
func (c *rawClient) fileSHA256(ctx context.Context, name, path string) (string, int64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://lxd"+filePath(name, path), nil)
	if err != nil {
		return "", 0, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return "", 0, &apiError{Code: resp.StatusCode, Msg: fmt.Sprintf("GET file %s%s: %.200s", name, path, data)}
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	return hex.EncodeToString(h.Sum(nil)), n, err
}
