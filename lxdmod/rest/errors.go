package rest

import (
	"context"
	"errors"
	"fmt"
)

// Kind classifies an error as scripts see it (docs/guide.md, “Errors”).
// Kinds form a small
// hierarchy: NotFound and Conflict are also LXDAPIException.
type Kind int

const (
	KindAPI Kind = iota + 1 // LXDAPIException: an error response or failed operation
	KindNotFound
	KindConflict
	KindExtension  // LXDAPIExtensionNotAvailable
	KindConnection // ClientConnectionFailed
	KindTimeout
	KindCancelled
	KindDryRun // a request refused because the client only previews changes
)

var kindNames = map[Kind]string{
	KindAPI:        "LXDAPIException",
	KindNotFound:   "NotFound",
	KindConflict:   "Conflict",
	KindExtension:  "LXDAPIExtensionNotAvailable",
	KindConnection: "ClientConnectionFailed",
	KindTimeout:    "Timeout",
	KindCancelled:  "Cancelled",
	KindDryRun:     "DryRun",
}

func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// parent returns the kind above k, or 0.
func (k Kind) parent() Kind {
	if k == KindNotFound || k == KindConflict {
		return KindAPI
	}
	return 0
}

// within reports whether k is t or a kind below it.
func (k Kind) within(t Kind) bool {
	for ; k != 0; k = k.parent() {
		if k == t {
			return true
		}
	}
	return false
}

// Sentinels for errors.Is: errors.Is(err, rest.ErrAPI) holds for every LXD
// error response, including NotFound and Conflict.
var (
	ErrAPI        = &Error{Kind: KindAPI}
	ErrNotFound   = &Error{Kind: KindNotFound}
	ErrConflict   = &Error{Kind: KindConflict}
	ErrExtension  = &Error{Kind: KindExtension}
	ErrConnection = &Error{Kind: KindConnection}
	ErrTimeout    = &Error{Kind: KindTimeout}
	ErrCancelled  = &Error{Kind: KindCancelled}
	ErrDryRun     = &Error{Kind: KindDryRun}
)

// Error is every error the client returns. Its message starts with the kind,
// e.g. "NotFound: Instance not found", which is what scripts see.
type Error struct {
	Kind       Kind
	StatusCode int    // HTTP or LXD status code, 0 when none
	Message    string // LXD's error text, or a description of the failure
	Err        error  // underlying cause, if any
	// Subject names the object the error is about (`instance "web9"`), for
	// LXD's messages that do not ("Instance not found").
	Subject string
}

func (e *Error) Error() string {
	msg := e.Message
	switch {
	case msg == "" && e.Err != nil:
		msg = e.Err.Error()
	case e.Kind == KindConnection && e.Err != nil:
		// Why a connection failed (refused, certificate mismatch, ...) is
		// what the reader needs; transport errors carry no secrets.
		msg += ": " + e.Err.Error()
	}
	if e.Subject != "" {
		msg = e.Subject + ": " + msg
	}
	return e.Kind.String() + ": " + msg
}

// About returns err naming subject when it is an LXD error response or
// failed operation (LXDAPIException and below) that names no object yet;
// other errors (a connection, a missing extension: the server's, not the
// object's) come back unchanged. The first subject given wins: the code
// closest to the failure knows best what it was about.
func About(err error, subject string) error {
	e, ok := err.(*Error)
	if !ok || e.Subject != "" || subject == "" || !e.Kind.within(KindAPI) {
		return err
	}
	cp := *e
	cp.Subject = subject
	return &cp
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches sentinels of the same kind or of a kind above it.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t.Message != "" || t.StatusCode != 0 || t.Err != nil {
		return false
	}
	return e.Kind.within(t.Kind)
}

// Kinds lists e's kind name and every kind above it, most specific first.
// Script-facing code (catch, Error.is_a) relies on this method.
func (e *Error) Kinds() []string {
	var out []string
	for k := e.Kind; k != 0; k = k.parent() {
		out = append(out, k.String())
	}
	return out
}

// HTTPStatus returns the status code LXD reported, or 0.
func (e *Error) HTTPStatus() int { return e.StatusCode }

// KindForStatus maps an HTTP status to an error kind.
func KindForStatus(status int) Kind {
	switch status {
	case 404:
		return KindNotFound
	case 409, 412:
		return KindConflict
	}
	return KindAPI
}

// APIError builds the error for an LXD error response or failed operation.
func APIError(status int, message string) *Error {
	return &Error{Kind: KindForStatus(status), StatusCode: status, Message: message}
}

// ContextError converts a context's error to Cancelled or Timeout, keeping
// the cause so errors.Is(err, context.Canceled) still works.
func ContextError(ctx context.Context, what string) *Error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: KindTimeout, Message: what + ": deadline exceeded", Err: err}
	}
	return &Error{Kind: KindCancelled, Message: what + ": cancelled", Err: err}
}
