package rest

import (
	"errors"
	"io"
	"strconv"

	"github.com/lxdstar/lxdstar/internal/jsonscan"
)

// decodeEnvelope fills r from LXD's response envelope. The metadata stays
// a slice of data, neither decoded nor checked here: whoever reads it
// decodes and checks it once (Decode, lxdmod's decoders), where
// json.Unmarshal into a RawMessage would scan it twice more and copy it,
// and a listing of a thousand instances is megabytes. Members other than
// the envelope's are ignored; null leaves a member unset, as
// encoding/json does.
func decodeEnvelope(data []byte, r *Response) error {
	pos := jsonscan.Space(data, 0)
	if pos >= len(data) || data[pos] != '{' {
		return errNotObject
	}
	pos = jsonscan.Space(data, pos+1)
	if pos < len(data) && data[pos] == '}' {
		return trailing(data, pos+1)
	}
	for {
		if pos >= len(data) || data[pos] != '"' {
			return errNotObject
		}
		kend, _, err := jsonscan.String(data, pos)
		if err != nil {
			return err
		}
		key := data[pos:kend]
		pos = jsonscan.Space(data, kend)
		if pos >= len(data) || data[pos] != ':' {
			return errNotObject
		}
		pos = jsonscan.Space(data, pos+1)
		var end int
		if string(key) == `"metadata"` {
			end, err = jsonscan.Skip(data, pos)
			r.Metadata = data[pos:end]
		} else {
			end, err = jsonscan.Value(data, pos, 1)
			if err == nil {
				err = envelopeMember(r, key, data[pos:end])
			}
		}
		if err != nil {
			return err
		}
		pos = jsonscan.Space(data, end)
		if pos >= len(data) {
			return errNotObject
		}
		switch data[pos] {
		case ',':
			pos = jsonscan.Space(data, pos+1)
		case '}':
			return trailing(data, pos+1)
		default:
			return errNotObject
		}
	}
}

func envelopeMember(r *Response, key, value []byte) error {
	switch string(key) {
	case `"type"`:
		return envelopeString(value, &r.Type)
	case `"status"`:
		return envelopeString(value, &r.Status)
	case `"operation"`:
		return envelopeString(value, &r.Operation)
	case `"error"`:
		return envelopeString(value, &r.Error)
	case `"status_code"`:
		return envelopeInt(value, &r.StatusCode)
	case `"error_code"`:
		return envelopeInt(value, &r.ErrorCode)
	}
	return nil
}

func trailing(data []byte, pos int) error {
	if jsonscan.Space(data, pos) != len(data) {
		return errNotObject
	}
	return nil
}

var errNotObject = errors.New("the envelope is not one JSON object")

var errEnvelopeType = errors.New("an envelope member has the wrong type")

func envelopeString(value []byte, dst *string) error {
	switch value[0] {
	case 'n':
		return nil
	case '"':
		*dst = jsonscan.Unquote(value)
		return nil
	}
	return errEnvelopeType
}

func envelopeInt(value []byte, dst *int) error {
	if value[0] == 'n' {
		return nil
	}
	n, err := strconv.Atoi(string(value))
	if err != nil {
		return errEnvelopeType
	}
	*dst = n
	return nil
}

// readBody reads r to its end. io.ReadAll zeroes each buffer it grows and
// copies the whole body once more at the end; here a buffer grows (past
// 64 KiB, fourfold) by a plain copy, and fresh memory is only touched as
// it fills, so a listing of megabytes costs little more than its own size.
func readBody(r io.Reader) ([]byte, error) {
	buf := make([]byte, 0, 4096)
	for {
		if len(buf) == cap(buf) {
			grow := cap(buf) * 2
			if cap(buf) >= 64<<10 {
				grow = cap(buf) * 4
			}
			next := make([]byte, len(buf), grow)
			copy(next, buf)
			buf = next
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
