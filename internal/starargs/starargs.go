// Package starargs holds small argument types for Starlark builtins. Each
// implements starlark.Unpacker, as go.starlark.net/lib/time's Duration
// does: a builtin declares its parameters in starlark.UnpackArgs, and each
// argument is converted, and a wrong one reported, by its type, in
// go.starlark.net's words: "fn: for parameter x: got int, want string".
//
// The zero value of every type is what an omitted optional argument means,
// and None means the same wherever a type accepts it.
package starargs

import (
	"fmt"
	"math"
	"time"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/filemode"
)

var (
	_ starlark.Unpacker = (*Seconds)(nil)
	_ starlark.Unpacker = (*Opt[starlark.Bool])(nil)
	_ starlark.Unpacker = (*OptString)(nil)
	_ starlark.Unpacker = (*Text)(nil)
	_ starlark.Unpacker = (*FileMode)(nil)
	_ starlark.Unpacker = (*Owner)(nil)
	_ starlark.Unpacker = (*Command)(nil)
	_ starlark.Unpacker = (*OptCommand)(nil)
	_ starlark.Unpacker = (*Strings)(nil)
	_ starlark.Unpacker = (*StringDict)(nil)
	_ starlark.Unpacker = (*Callable)(nil)
)

// Seconds is a positive number of seconds, or None (0: no limit).
type Seconds time.Duration

// maxSeconds is about 146 years: no limit in practice.
const maxSeconds = float64(1<<62) / float64(time.Second)

func (s *Seconds) Unpack(v starlark.Value) error {
	if v == starlark.None {
		*s = 0
		return nil
	}
	f, ok := starlark.AsFloat(v)
	if !ok {
		return fmt.Errorf("got %s, want number or None", v.Type())
	}
	if !(f > 0) { // NaN too
		return fmt.Errorf("must be positive, got %v", v)
	}
	if f > maxSeconds {
		f = maxSeconds // converting more would overflow time.Duration
	}
	*s = Seconds(f * float64(time.Second))
	return nil
}

// Duration is s as a time.Duration.
func (s Seconds) Duration() time.Duration { return time.Duration(s) }

// Opt is a value of the Starlark type T, or None (Set false).
type Opt[T starlark.Value] struct {
	Value T
	Set   bool
}

func (o *Opt[T]) Unpack(v starlark.Value) error {
	if v == starlark.None {
		*o = Opt[T]{}
		return nil
	}
	x, ok := v.(T)
	if !ok {
		var want T
		return fmt.Errorf("got %s, want %s or None", v.Type(), want.Type())
	}
	*o = Opt[T]{Value: x, Set: true}
	return nil
}

// OptString is a string or None. Set tells them apart where an empty
// string and None mean different things.
type OptString struct {
	Value string
	Set   bool
}

func (s *OptString) Unpack(v starlark.Value) error {
	var o Opt[starlark.String]
	err := o.Unpack(v)
	*s = OptString{Value: string(o.Value), Set: o.Set}
	return err
}

// String returns v's value when v is a string, or an error in the words
// of an Unpack method.
func String(v starlark.Value) (string, error) {
	s, ok := v.(starlark.String)
	if !ok {
		return "", fmt.Errorf("got %s, want string", v.Type())
	}
	return string(s), nil
}

// OptSequence returns v as a sequence (a list, a tuple: not a string or
// bytes, though they can be indexed too), or nil for None; want names
// what is wanted in the error otherwise ("list of strings").
func OptSequence(v starlark.Value, want string) (starlark.Indexable, error) {
	if v == starlark.None {
		return nil, nil
	}
	seq, ok := v.(starlark.Indexable)
	switch v.(type) {
	case starlark.String, starlark.Bytes:
		ok = false
	}
	if !ok {
		return nil, fmt.Errorf("got %s, want %s or None", v.Type(), want)
	}
	return seq, nil
}

// OptDict returns v as a dict, or nil for None.
func OptDict(v starlark.Value) (*starlark.Dict, error) {
	if v == starlark.None {
		return nil, nil
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("got %s, want dict or None", v.Type())
	}
	return d, nil
}

// Text is a string or bytes, as the bytes they hold.
type Text string

func (t *Text) Unpack(v starlark.Value) error {
	switch x := v.(type) {
	case starlark.String:
		*t = Text(x)
	case starlark.Bytes:
		*t = Text(x)
	default:
		return fmt.Errorf("got %s, want string or bytes", v.Type())
	}
	return nil
}

// FileMode is a file's mode: an int such as 0o644, an octal string such
// as "0644", "644" or "0o644", or None (-1: let the server choose). Its
// zero value is mode 0: declare it as FileMode(-1) where the argument is
// optional.
type FileMode int

func (m *FileMode) Unpack(v starlark.Value) error {
	if s, ok := v.(starlark.String); ok {
		n, err := filemode.Parse(string(s))
		*m = FileMode(n)
		return err
	}
	n, err := optNatural(v, filemode.Max, "mode %s out of range (want 0 to 0o7777)", `got %s, want int (0o644) or octal string ("0644")`)
	*m = FileMode(n)
	return err
}

// Owner is a user or group id (0 to 2³²-1), or None (-1: let the server
// choose). As for FileMode, declare it as Owner(-1) where it is optional.
type Owner int64

func (o *Owner) Unpack(v starlark.Value) error {
	n, err := optNatural(v, math.MaxUint32, "%s out of range (want 0 to 4294967295)", "got %s, want int or None")
	*o = Owner(n)
	return err
}

// optNatural reads None (-1) or an int from 0 to max. outOfRange formats
// the error for another int, wrongType the one for another type.
func optNatural(v starlark.Value, max int64, outOfRange, wrongType string) (int64, error) {
	switch x := v.(type) {
	case starlark.NoneType:
		return -1, nil
	case starlark.Int:
		n, ok := x.Int64()
		if !ok || n < 0 || n > max {
			return 0, fmt.Errorf(outOfRange, x)
		}
		return n, nil
	}
	return 0, fmt.Errorf(wrongType, v.Type())
}

// Command is a command line as a list of strings: what the program sees
// as its argv, never split or quoted by a shell.
type Command []string

func (c *Command) Unpack(v starlark.Value) error {
	switch v.(type) {
	case starlark.String, starlark.Bytes:
		return fmt.Errorf(`got %s, want a list of strings (to run a shell command line, use ["sh", "-c", %s])`, v.Type(), v)
	}
	seq, ok := v.(starlark.Indexable)
	if !ok {
		return fmt.Errorf("got %s, want a list of strings", v.Type())
	}
	if seq.Len() == 0 {
		return fmt.Errorf("the command is empty")
	}
	out, err := elements(seq)
	*c = out
	return err
}

// OptCommand is a Command, or None (nil).
type OptCommand []string

func (c *OptCommand) Unpack(v starlark.Value) error {
	if v == starlark.None {
		*c = nil
		return nil
	}
	var cmd Command
	err := cmd.Unpack(v)
	*c = OptCommand(cmd)
	return err
}

// Strings is a list (or tuple) of strings, or None (nil).
type Strings []string

func (s *Strings) Unpack(v starlark.Value) error {
	seq, err := OptSequence(v, "list of strings")
	if seq == nil {
		*s = nil
		return err
	}
	out, err := elements(seq)
	*s = out
	return err
}

// elements reads a sequence's elements, all strings.
func elements(seq starlark.Indexable) ([]string, error) {
	out := make([]string, seq.Len())
	for i := range out {
		s, ok := seq.Index(i).(starlark.String)
		if !ok {
			return nil, fmt.Errorf("element %d is %s, want string", i, seq.Index(i).Type())
		}
		out[i] = string(s)
	}
	return out, nil
}

// StringDict is a dict of strings to strings, or None (nil).
type StringDict map[string]string

func (d *StringDict) Unpack(v starlark.Value) error {
	dict, err := OptDict(v)
	if dict == nil {
		*d = nil
		return err
	}
	out := make(map[string]string, dict.Len())
	for _, item := range dict.Items() {
		k, ok1 := item[0].(starlark.String)
		val, ok2 := item[1].(starlark.String)
		if !ok1 || !ok2 {
			return fmt.Errorf("want string keys and values, got %s: %s", item[0].Type(), item[1].Type())
		}
		out[string(k)] = string(val)
	}
	*d = out
	return nil
}

// Callable is a function (or any callable), or None (Fn nil).
type Callable struct{ Fn starlark.Callable }

func (c *Callable) Unpack(v starlark.Value) error {
	if v == starlark.None {
		c.Fn = nil
		return nil
	}
	fn, ok := v.(starlark.Callable)
	if !ok {
		return fmt.Errorf("got %s, want a callable or None", v.Type())
	}
	c.Fn = fn
	return nil
}
