package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestExecFloorUsesTheWebsocketReference(t *testing.T) {
	tool := func(key string, perCall time.Duration) *Tool {
		return &Tool{Key: key, Name: key, Samples: []Sample{{}}, Stats: Stats{Median: 10 * perCall}}
	}
	h := &harness{res: &Results{Work: []*Workload{{Key: "exec", Ops: 10, Tools: []*Tool{
		tool("lxdstar", 15*time.Millisecond), tool("cli", 45*time.Millisecond), tool("pylxd", 500*time.Millisecond),
		tool("raw", 12*time.Millisecond), tool("rawws", 14*time.Millisecond),
	}}}}}
	text := h.execFloor().Text
	for _, want := range []string{
		"12.0 ms per exec with no output transport", "14.0 ms with the websockets", "lxdstar needs 15.0 ms per call: 1.00 ms (7%) more",
		"3.2× faster than `lxc exec` and 35.7× faster than pylxd (lxdstar: 3.0× and 33.3×)",
	} {
		assert.Contains(t, text, want)
	}
	h.res.Work[0].Tools = h.res.Work[0].Tools[:4] // no websocket reference
	assert.Equal(t, "A raw-API reference or lxdstar was not measured.", h.execFloor().Text)
}
