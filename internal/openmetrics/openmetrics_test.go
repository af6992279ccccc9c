package openmetrics

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lxdSample is the shape of LXD 5.0's /1.0/metrics (abridged from a real
// answer of the test bed).
const lxdSample = `# HELP lxd_cpu_seconds_total The total number of CPU time used in seconds.
# TYPE lxd_cpu_seconds_total counter
lxd_cpu_seconds_total{cpu="0",mode="system",name="c1",project="default",type="container"} 0.168
lxd_cpu_seconds_total{cpu="1",mode="user",name="c1",project="default",type="container"} 0.42
# HELP lxd_filesystem_avail_bytes The number of available space in bytes.
# TYPE lxd_filesystem_avail_bytes gauge
lxd_filesystem_avail_bytes{device="",fstype="ext4",mountpoint="/",name="c1",project="default"} 8.4336185344e+10
# HELP lxd_procs_total The number of running processes.
# TYPE lxd_procs_total gauge
lxd_procs_total{name="c1",project="default",type="container"} 4
# EOF
`

func TestParseLXD(t *testing.T) {
	got, err := Parse([]byte(lxdSample))
	require.NoError(t, err)
	require.Len(t, got, 4)
	assert.Equal(t, Sample{Name: "lxd_cpu_seconds_total", Value: 0.168, Labels: []Label{
		{"cpu", "0"}, {"mode", "system"}, {"name", "c1"}, {"project", "default"}, {"type", "container"}}}, got[0])
	assert.Equal(t, 0.42, got[1].Value)
	assert.Equal(t, 8.4336185344e+10, got[2].Value)
	assert.Equal(t, []Label{{"device", ""}, {"fstype", "ext4"}, {"mountpoint", "/"}, {"name", "c1"}, {"project", "default"}}, got[2].Labels)
	assert.Equal(t, Sample{Name: "lxd_procs_total", Value: 4, Labels: []Label{{"name", "c1"}, {"project", "default"}, {"type", "container"}}}, got[3])
}

func TestParseForms(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	for _, tc := range []struct {
		in   string
		want Sample
	}{
		{`up 1`, Sample{Name: "up", Value: 1}},
		{`up{} 1`, Sample{Name: "up", Labels: nil, Value: 1}},
		{"up\t2\r", Sample{Name: "up", Value: 2}},
		{`ns:sub_metric_total 3`, Sample{Name: "ns:sub_metric_total", Value: 3}},
		{`x +Inf`, Sample{Name: "x", Value: inf}},
		{`x -Inf`, Sample{Name: "x", Value: -inf}},
		{`x Inf`, Sample{Name: "x", Value: inf}},
		{`x NaN`, Sample{Name: "x", Value: nan}},
		{`x 1e400`, Sample{Name: "x", Value: inf}}, // too large: +Inf, as Prometheus reads it
		{`x -0.5e-3`, Sample{Name: "x", Value: -0.0005}},
		{`x 1 1700000000`, Sample{Name: "x", Value: 1, Timestamp: 1700000000, HasTimestamp: true}},
		{`x 1 1700000000.123`, Sample{Name: "x", Value: 1, Timestamp: 1700000000.123, HasTimestamp: true}},
		{`x{a="b",} 1`, Sample{Name: "x", Labels: []Label{{"a", "b"}}, Value: 1}},
		{`x{ a = "b" , c="d" } 1`, Sample{Name: "x", Labels: []Label{{"a", "b"}, {"c", "d"}}, Value: 1}},
		{`x{a="q\"uote",b="back\\slash",c="new\nline"} 1`, Sample{Name: "x", Labels: []Label{{"a", `q"uote`}, {"b", `back\slash`}, {"c", "new\nline"}}, Value: 1}},
		{`x{a="\t kept"} 1`, Sample{Name: "x", Labels: []Label{{"a", `\t kept`}}, Value: 1}},
		{`x{a="}{ ,=# 1"} 1`, Sample{Name: "x", Labels: []Label{{"a", "}{ ,=# 1"}}, Value: 1}},
		{`x{a="ünï"} 1`, Sample{Name: "x", Labels: []Label{{"a", "ünï"}}, Value: 1}},
		{`x_bucket{le="+Inf"} 17 # {trace_id="abc"} 0.5 123`, Sample{Name: "x_bucket", Labels: []Label{{"le", "+Inf"}}, Value: 17}},
		{`x 5 123 # {trace_id="abc"} 0.5`, Sample{Name: "x", Value: 5, Timestamp: 123, HasTimestamp: true}},
	} {
		got, err := Parse([]byte(tc.in))
		if !assert.NoError(t, err, tc.in) || !assert.Len(t, got, 1, tc.in) {
			continue
		}
		if math.IsNaN(tc.want.Value) {
			assert.True(t, math.IsNaN(got[0].Value), tc.in)
			got[0].Value, tc.want.Value = 0, 0
		}
		assert.Equal(t, tc.want, got[0], tc.in)
	}
}

func TestParseComments(t *testing.T) {
	got, err := Parse([]byte("# HELP x Some \"help\" with {braces} and \\ escapes\n# TYPE x gauge\n# UNIT x bytes\n#\n# anything\n\n\nx 1\n\n# EOF\n\n"))
	require.NoError(t, err)
	assert.Equal(t, []Sample{{Name: "x", Value: 1}}, got)

	got, err = Parse(nil)
	require.NoError(t, err)
	assert.Empty(t, got)
	got, err = Parse([]byte("# EOF"))
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, msg string }{
		{"x 1\n# EOF\ny 2\n", "line 3: content after # EOF"},
		{"x 1\n# EOF\n# more\n", "line 3: content after # EOF"},
		{"x", "line 1: x: no value"},
		{"x{a=\"b\"}", "line 1: x: no value"},
		{"x{a=\"b\"}1", "want a space before the value"},
		{"x1 2 3 4", "unexpected \"4\" after the value"},
		{"x abc", `invalid value "abc"`},
		{"x 1 abc", `invalid timestamp "abc"`},
		{"1x 2", "want a metric name"},
		{" x 2", "want a metric name"},
		{"{x} 2", "want a metric name"},
		{"x.y 2", "want a space before the value"},
		{"x{a=b} 1", "label a: want a quoted value"},
		{"x{a} 1", "label a: want ="},
		{"x{a=\"b\" c=\"d\"} 1", "label a: want , or } after the value"},
		{"x{a=\"b\",a=\"c\"} 1", `duplicate label "a"`},
		{"x{a=\"b} 1", "label a: unterminated value"},
		{"x{a=\"b\\", "label a: unterminated value"},
		{"x{a=\"b\"", "unterminated label set"},
		{"x{1a=\"b\"} 1", "want a label name"},
		{"x{a:b=\"c\"} 1", "label a: want ="},
		{"ok 1\nbad\n", "line 2: bad: no value"},
	} {
		_, err := Parse([]byte(tc.in))
		if !assert.Error(t, err, tc.in) {
			continue
		}
		assert.Contains(t, err.Error(), tc.msg, tc.in)
		var se *SyntaxError
		assert.True(t, errors.As(err, &se), tc.in)
	}
}

// format writes samples back in the text format: what the round-trip
// property of the fuzz test compares against.
func format(samples []Sample) string {
	var b strings.Builder
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	for _, s := range samples {
		b.WriteString(s.Name)
		if len(s.Labels) > 0 {
			b.WriteByte('{')
			for i, l := range s.Labels {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `%s="%s"`, l.Name, esc.Replace(l.Value))
			}
			b.WriteByte('}')
		}
		b.WriteString(" " + strconv.FormatFloat(s.Value, 'g', -1, 64))
		if s.HasTimestamp {
			b.WriteString(" " + strconv.FormatFloat(s.Timestamp, 'g', -1, 64))
		}
		b.WriteByte('\n')
	}
	b.WriteString("# EOF\n")
	return b.String()
}

// sameSamples compares with NaN equal to NaN.
func sameSamples(a, b []Sample) bool {
	if len(a) != len(b) {
		return false
	}
	eq := func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) }
	for i := range a {
		if a[i].Name != b[i].Name || !eq(a[i].Value, b[i].Value) || a[i].HasTimestamp != b[i].HasTimestamp ||
			!eq(a[i].Timestamp, b[i].Timestamp) || len(a[i].Labels) != len(b[i].Labels) {
			return false
		}
		for j := range a[i].Labels {
			if a[i].Labels[j] != b[i].Labels[j] {
				return false
			}
		}
	}
	return true
}

func TestRoundTrip(t *testing.T) {
	in := []Sample{
		{Name: "a", Value: math.Inf(-1)},
		{Name: "b:c", Labels: []Label{{"k", "v \" \\ \n }"}, {"_x", ""}}, Value: 1.5e-300, Timestamp: -3, HasTimestamp: true},
	}
	got, err := Parse([]byte(format(in)))
	require.NoError(t, err)
	assert.True(t, sameSamples(in, got), "%+v", got)
}

// FuzzParse: any input ends in samples or a SyntaxError, never a panic,
// and what parses writes back to text that parses to the same samples.
func FuzzParse(f *testing.F) {
	for _, s := range []string{lxdSample, "x 1", "x{a=\"\\\"\"} NaN 5", "x{a=\"b\",} +Inf # {t=\"1\"} 2", "# EOF\n", "x{a=\"b\\q\"} 1\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Parse(data)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		again, err := Parse([]byte(format(got)))
		if err != nil {
			t.Fatalf("re-parsing %q: %v", format(got), err)
		}
		if !sameSamples(got, again) {
			t.Fatalf("round trip changed the samples:\n%+v\n%+v", got, again)
		}
	})
}
