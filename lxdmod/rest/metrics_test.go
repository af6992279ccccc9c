package rest

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lxdstar/lxdstar/internal/openmetrics"
)

func TestMetricsParsesTextAndSendsProject(t *testing.T) {
	var query string
	f, c := newFake(t, Config{Project: "p1"})
	f.Intercept("*", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		assert.Equal(t, "/1.0/metrics", r.URL.Path)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("# TYPE x gauge\nx{name=\"c1\"} 2.5\n# EOF\n"))
	}))
	got, err := c.Metrics(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []openmetrics.Sample{{Name: "x", Labels: []openmetrics.Label{{Name: "name", Value: "c1"}}, Value: 2.5}}, got)
	assert.Equal(t, "project=p1", query)
}

func TestMetricsErrors(t *testing.T) {
	c := replying(t, `{"type":"error","error":"Certificate is restricted","error_code":403}`, 403, Config{})
	_, err := c.Metrics(context.Background())
	require.Error(t, err)
	assert.Equal(t, KindAPI, kindOf(err))
	assert.Contains(t, err.Error(), "metrics: Certificate is restricted")

	c = replying(t, `{"type":"sync","metadata":{}}`, 200, Config{})
	_, err = c.Metrics(context.Background())
	require.Error(t, err)
	assert.Equal(t, KindConnection, kindOf(err))
	assert.Contains(t, err.Error(), "not OpenMetrics text: line 1")
}
