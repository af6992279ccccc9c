package repl

import (
	"fmt"
	"sync"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/apidoc"
)

// lazy is a predeclared value made on first use: reading any attribute of
// the placeholder calls init on the running statement's thread (so Ctrl-C
// interrupts it). Until then help and completion describe it from the
// registry entry docKey without calling init.
type lazy struct {
	name   string
	docKey string // apidoc key of the value init returns, e.g. "Client"
	init   func(thread *starlark.Thread) (starlark.Value, error)
}

// lazyValue is the placeholder of a lazy: the first attribute read makes
// the value (e.g. connects the client) on the running statement's thread;
// from then on it forwards to it. Its repr, type and completion do not
// make the value, so printing or completing `client` never connects.
type lazyValue struct {
	spec    lazy
	running func() *starlark.Thread // the statement's thread, nil between statements

	mu sync.Mutex
	v  starlark.Value
}

var (
	_ starlark.HasAttrs = (*lazyValue)(nil)
	_ apidoc.Keyed      = (*lazyValue)(nil)
)

// loaded returns the value once made, else nil.
func (l *lazyValue) loaded() starlark.Value {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.v
}

// get returns the value, making it on first use.
func (l *lazyValue) get() (starlark.Value, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.v != nil {
		return l.v, nil
	}
	thread := l.running()
	if thread == nil {
		return nil, fmt.Errorf("%s: not available outside a statement", l.spec.name)
	}
	v, err := l.spec.init(thread)
	if err != nil {
		return nil, err
	}
	l.v = v
	return v, nil
}

func (l *lazyValue) String() string {
	if v := l.loaded(); v != nil {
		return v.String()
	}
	return fmt.Sprintf("<%s (connects on first use)>", l.spec.docKey)
}

func (l *lazyValue) Type() string {
	if v := l.loaded(); v != nil {
		return v.Type()
	}
	return l.spec.docKey
}

func (l *lazyValue) Freeze()              {} // the placeholder has no state a script could change
func (l *lazyValue) Truth() starlark.Bool { return true }
func (l *lazyValue) Hash() (uint32, error) {
	if v := l.loaded(); v != nil {
		return v.Hash()
	}
	return starlark.String(l.spec.name).Hash()
}

func (l *lazyValue) DocKey() string { return l.spec.docKey }

func (l *lazyValue) Attr(name string) (starlark.Value, error) {
	v, err := l.get()
	if err != nil {
		return nil, err
	}
	if ha, ok := v.(starlark.HasAttrs); ok {
		return ha.Attr(name)
	}
	return nil, nil
}

// AttrNames lists the value's attributes, or before it is made those the
// registry documents for it (dir(client) does not connect).
func (l *lazyValue) AttrNames() []string {
	if v := l.loaded(); v != nil {
		if ha, ok := v.(starlark.HasAttrs); ok {
			return ha.AttrNames()
		}
		return nil
	}
	var names []string
	for _, e := range apidoc.Members(l.spec.docKey) {
		names = append(names, e.Name())
	}
	return names
}
