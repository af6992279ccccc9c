package lxdmod

// Instance.wait_for: block until an instance is ready by every given
// measure at once (status, addresses, VM agent, a path, a command), and
// return its state. LXD announces status changes as lifecycle events on
// /1.0/events, so the wait follows those; addresses, paths and commands
// have no events and are polled, at a growing interval.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/starargs"
	"github.com/lxdstar/lxdstar/internal/starjson"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// readiness is what wait_for waits for.
type readiness struct {
	status     string // "" for any
	ipv4, ipv6 bool
	iface      string // "": any interface but lo
	agent      bool
	path       string
	command    []string
	vm         bool // the instance is a virtual machine (agent means more than Running)
}

// The poll interval starts small (a container gets its address within a
// second or so) and grows to its cap. Conditions that events announce are
// re-checked on each event, so their polling is only a backstop.
const (
	firstPoll     = 100 * time.Millisecond
	maxPoll       = 2 * time.Second
	firstBackstop = time.Second
	maxBackstop   = 10 * time.Second
)

var instanceStatuses = []string{"Running", "Stopped", "Frozen"}

func instanceWaitFor(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	fn := qualified(m, b)
	if len(args) > 0 {
		return nil, fmt.Errorf("%s: got %d positional arguments, want keyword arguments only (status=, ipv4=, ipv6=, interface=, agent=, path=, command=, timeout=)", fn, len(args))
	}
	var (
		status  statusWanted
		iface   starargs.OptString
		path    optPathInInstance
		command starargs.OptCommand
		timeout = starargs.Seconds(60 * time.Second)
		r       readiness
	)
	if err := starlark.UnpackArgs(fn, nil, kwargs, "status?", &status, "ipv4?", &r.ipv4, "ipv6?", &r.ipv6,
		"interface?", &iface, "agent?", &r.agent, "path?", &path, "command?", &command, "timeout?", &timeout); err != nil {
		return nil, err
	}
	if iface.Set && (iface.Value == "" || !r.ipv4 && !r.ipv6) {
		return nil, fmt.Errorf("%s: for parameter interface: want a non-empty interface name, with ipv4=True or ipv6=True", fn)
	}
	r.status, r.iface, r.path, r.command = string(status), iface.Value, string(path), command
	limit := timeout.Duration()
	if r.status == "" && !r.ipv4 && !r.ipv6 && !r.agent && r.path == "" && r.command == nil {
		return nil, fmt.Errorf("%s: no condition given (status=, ipv4=, ipv6=, agent=, path= or command=)", fn)
	}
	r.vm = m.str("type") == "virtual-machine"
	return r.await(thread, m, limit)
}

// evented reports whether lifecycle events announce every condition.
func (r *readiness) evented() bool {
	return !r.ipv4 && !r.ipv6 && r.path == "" && r.command == nil && (!r.agent || !r.vm)
}

// await checks the conditions until they hold, limit (0: none) passes or
// the script is interrupted.
func (r *readiness) await(thread *starlark.Thread, m *Model, limit time.Duration) (starlark.Value, error) {
	ctx := ctxOf(thread)
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	// Subscribed before the first check, so that no change between a
	// check and the wait after it goes unnoticed. Without events (the
	// server refused the stream, or it ended) the wait polls.
	events, err := m.c.rest.Events(ctx, rest.EventOptions{Types: []string{"lifecycle"}, Buffer: 64})
	if err != nil {
		events = nil
	} else {
		defer events.Close()
	}
	source := m.path()
	interval := firstPoll
	if events != nil && r.evented() {
		interval = firstBackstop
	}
	var last *observation
	for {
		obs, err := r.check(ctx, m)
		switch {
		case err == nil && len(obs.missing) == 0:
			return record("InstanceState", obs.dict), nil
		case err == nil:
			// A round the deadline cut short ("command … still running")
			// says less than a whole one before it ("exited 1").
			if ctx.Err() == nil || last == nil {
				last = obs
			}
		case ctx.Err() != nil:
		case transient(err):
			// A server error while the instance changes state (Incus
			// 6.0.4: "Invalid PID" while it stops) is worth another try.
			if last == nil {
				last = &observation{}
			}
			last.missing = []string{"its state could not be read (" + shortError(err) + ")"}
		default:
			return nil, err // the instance is gone, the server refuses, …
		}
		if events, err = pause(ctx, events, source, interval); err != nil {
			return nil, r.failure(thread, m, limit, last)
		}
		if events != nil && r.evented() {
			interval = min(interval*3/2, maxBackstop)
		} else {
			interval = min(interval*3/2, maxPoll)
		}
	}
}

// observation is one round of checks: the state read and what was missing.
type observation struct {
	state   *stateView
	dict    *starlark.Dict
	missing []string
}

// stateView is the part of GET /1.0/instances/<name>/state that the
// conditions look at.
type stateView struct {
	Status    string `json:"status"`
	Processes *int64 `json:"processes"`
	Network   map[string]struct {
		Addresses []struct {
			Family  string `json:"family"`
			Address string `json:"address"`
			Netmask string `json:"netmask"`
			Scope   string `json:"scope"`
		} `json:"addresses"`
		Type string `json:"type"`
	} `json:"network"`
}

// readState reads the instance's state, as wait_for returns it and as the
// conditions see it.
func readState(ctx context.Context, m *Model) (*stateView, *starlark.Dict, error) {
	var raw json.RawMessage
	if _, err := m.c.rest.Get(ctx, m.path()+"/state", nil, &raw); err != nil {
		return nil, nil, err
	}
	var st stateView
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, nil, &rest.Error{Kind: rest.KindConnection, Message: "instance state: " + err.Error()}
	}
	v, err := starjson.Decode(raw)
	if err != nil {
		return nil, nil, &rest.Error{Kind: rest.KindConnection, Message: "instance state: " + err.Error()}
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, nil, &rest.Error{Kind: rest.KindConnection, Message: "instance state: expected an object, got " + v.Type()}
	}
	return &st, d, nil
}

// check runs one round: the state first (one request); the path and the
// command only once the state conditions hold, and then the state again,
// so that every condition held at once.
func (r *readiness) check(ctx context.Context, m *Model) (*observation, error) {
	st, d, err := readState(ctx, m)
	if err != nil {
		return nil, err
	}
	obs := &observation{state: st, dict: d, missing: r.stateMissing(st)}
	if len(obs.missing) > 0 || r.path == "" && r.command == nil {
		return obs, nil
	}
	if r.path != "" {
		if miss := r.pathMissing(ctx, m); miss != "" {
			obs.missing = append(obs.missing, miss)
			return obs, nil
		}
	}
	if r.command != nil {
		if miss := r.commandMissing(ctx, m); miss != "" {
			obs.missing = append(obs.missing, miss)
			return obs, nil
		}
	}
	if st, d, err = readState(ctx, m); err != nil {
		return obs, err
	}
	return &observation{state: st, dict: d, missing: r.stateMissing(st)}, nil
}

// stateMissing lists the conditions on the state that do not hold.
func (r *readiness) stateMissing(st *stateView) []string {
	var missing []string
	if r.status != "" && st.Status != r.status {
		missing = append(missing, "not "+r.status)
	}
	if r.agent {
		switch {
		case st.Status != "Running":
			if r.status != "Running" {
				missing = append(missing, "not Running")
			}
		case r.vm && (st.Processes == nil || *st.Processes < 0):
			// LXD reports processes -1 while the VM's agent does not answer.
			missing = append(missing, "no VM agent answering")
		}
	}
	for _, want := range []struct {
		on      bool
		v4      bool
		version string
	}{{r.ipv4, true, "IPv4"}, {r.ipv6, false, "IPv6"}} {
		if want.on && !r.hasGlobal(st, want.v4) {
			where := "on any interface"
			if r.iface != "" {
				where = "on " + r.iface
			}
			missing = append(missing, fmt.Sprintf("no global %s address %s", want.version, where))
		}
	}
	return missing
}

// hasGlobal reports whether an interface the conditions look at has a
// global address (not loopback, not link-local) of the family.
func (r *readiness) hasGlobal(st *stateView, v4 bool) bool {
	for name, nic := range st.Network {
		if r.iface != "" && name != r.iface || r.iface == "" && (name == "lo" || nic.Type == "loopback") {
			continue
		}
		for _, a := range nic.Addresses {
			ip, err := netip.ParseAddr(a.Address)
			if err != nil || ip.Unmap().Is4() != v4 {
				continue
			}
			if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || a.Scope == "link" || a.Scope == "local" {
				continue
			}
			return true
		}
	}
	return false
}

// pathMissing checks that the path exists in the instance.
func (r *readiness) pathMissing(ctx context.Context, m *Model) string {
	_, err := m.c.rest.StatFile(ctx, m.key(), r.path, m.c.exts["instance_file_head"])
	switch {
	case err == nil:
		return ""
	case errors.Is(err, rest.ErrNotFound):
		return "no " + r.path
	}
	return fmt.Sprintf("%s not readable (%s)", r.path, shortError(err))
}

// commandMissing runs the command and reports why it did not exit 0.
func (r *readiness) commandMissing(ctx context.Context, m *Model) string {
	what := "command " + commandRepr(r.command)
	stderr := &tailBuffer{max: 200}
	res, err := m.c.rest.Exec(ctx, m.key(), rest.ExecRequest{Command: r.command}, rest.ExecIO{Stderr: stderr})
	switch {
	case ctx.Err() != nil:
		return what + " still running"
	case err != nil:
		return fmt.Sprintf("%s could not run (%s)", what, shortError(err))
	case res.ExitCode != 0:
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return fmt.Sprintf("%s exited %d (%s)", what, res.ExitCode, msg)
		}
		return fmt.Sprintf("%s exited %d", what, res.ExitCode)
	}
	return ""
}

// shortError is an error's message without its kind.
func shortError(err error) string {
	var e *rest.Error
	if errors.As(err, &e) {
		return strings.TrimPrefix(err.Error(), e.Kind.String()+": ")
	}
	return err.Error()
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.buf) }

// pause waits for the interval to pass or, with an event stream, for a
// lifecycle event about the instance at source, whichever comes first. It
// returns the stream to go on with (nil once it has ended: polling takes
// over) and ctx's error when ctx ends.
func pause(ctx context.Context, events *rest.EventStream, source string, interval time.Duration) (*rest.EventStream, error) {
	wait, cancel := context.WithTimeout(ctx, interval)
	defer cancel()
	for events != nil {
		ev, err := events.Next(wait)
		switch {
		case ctx.Err() != nil:
			return events, ctx.Err()
		case wait.Err() != nil:
			return events, nil
		case err != nil:
			events.Close()
			events = nil // the stream ended: poll out the interval
		case aboutSource(ev, source):
			return events, nil
		}
	}
	<-wait.Done()
	return nil, ctx.Err()
}

// aboutSource reports whether a lifecycle event concerns the object at
// source (LXD may add ?project= to its URL).
func aboutSource(ev *rest.Event, source string) bool {
	var md struct {
		Source string `json:"source"`
	}
	if json.Unmarshal(ev.Metadata, &md) != nil {
		return false
	}
	s, _, _ := strings.Cut(md.Source, "?")
	return s == source
}

// failure is the error of a wait that ended before the conditions held:
// Cancelled when the script was interrupted, else a Timeout naming what
// was still missing and the last state seen.
func (r *readiness) failure(thread *starlark.Thread, m *Model, limit time.Duration, last *observation) error {
	if ctx := ctxOf(thread); ctx.Err() != nil {
		return rest.ContextError(ctx, "Instance.wait_for")
	}
	secs := strconv.FormatFloat(limit.Seconds(), 'f', -1, 64)
	msg := fmt.Sprintf("%s: no state read after %s s", m.key(), secs)
	if last != nil {
		msg = fmt.Sprintf("%s: %s after %s s", m.key(), strings.Join(last.missing, ", "), secs)
		if last.state != nil {
			msg += " (" + r.describe(last.state) + ")"
		}
	}
	return &rest.Error{Kind: rest.KindTimeout, Message: msg}
}

// transient reports whether a failed read may succeed if tried again: a
// server error, as opposed to a refusal (NotFound, Forbidden) or a lost
// connection.
func transient(err error) bool {
	var e *rest.Error
	return errors.As(err, &e) && e.StatusCode >= 500
}

// describe summarises a state for a timeout message: the status, and the
// addresses of the interfaces the conditions look at.
func (r *readiness) describe(st *stateView) string {
	parts := []string{"status " + st.Status}
	if r.ipv4 || r.ipv6 {
		names := make([]string, 0, len(st.Network))
		for name, nic := range st.Network {
			if r.iface == "" && name != "lo" && nic.Type != "loopback" || name == r.iface {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		if r.iface != "" && len(names) == 0 {
			parts = append(parts, "no interface "+r.iface)
		}
		for _, name := range names {
			var addrs []string
			for _, a := range st.Network[name].Addresses {
				addrs = append(addrs, a.Address+"/"+a.Netmask)
			}
			if len(addrs) == 0 {
				addrs = []string{"no address"}
			}
			parts = append(parts, name+": "+strings.Join(addrs, ", "))
		}
	}
	return strings.Join(parts, "; ")
}
