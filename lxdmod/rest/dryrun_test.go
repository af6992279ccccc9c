package rest

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDryRunRefusesWritesOnly(t *testing.T) {
	f, c := newFake(t, Config{DryRun: true})
	ctx := context.Background()
	before := len(f.Requests())

	_, err := c.Do(ctx, &Request{Method: "GET", Path: Path("instances")})
	require.NoError(t, err, "reads go through")

	cases := []struct {
		method, path, want string
	}{
		{"POST", Path("instances"), "DryRun: POST /1.0/instances (would create an instance)"},
		{"PUT", Path("profiles", "web"), `DryRun: PUT /1.0/profiles/web (would change profile "web")`},
		{"PATCH", Path("profiles", "web") + "?x=1", `DryRun: PATCH /1.0/profiles/web (would change profile "web")`},
		{"DELETE", Path("instances", "c1"), `DryRun: DELETE /1.0/instances/c1 (would delete instance "c1")`},
		{"POST", Path("instances", "c1"), `DryRun: POST /1.0/instances/c1 (would rename or move instance "c1")`},
		{"PUT", Path("instances", "c1", "state"), `DryRun: PUT /1.0/instances/c1/state (would change the state of instance "c1")`},
		{"POST", Path("instances", "c1", "exec"), `DryRun: POST /1.0/instances/c1/exec (would run a command in instance "c1")`},
		{"POST", Path("storage-pools"), "DryRun: POST /1.0/storage-pools (would create a storage pool)"},
		{"POST", Path("storage-pools", "default", "volumes", "custom"), "DryRun: POST /1.0/storage-pools/default/volumes/custom (would create a volume)"},
		{"DELETE", Path("storage-pools", "default", "volumes", "custom", "v1"), `DryRun: DELETE /1.0/storage-pools/default/volumes/custom/v1 (would delete volume "v1")`},
		{"DELETE", Path("images", "aliases", "busybox"), `DryRun: DELETE /1.0/images/aliases/busybox (would delete alias "busybox")`},
		{"POST", Path("instances", "c1", "snapshots"), "DryRun: POST /1.0/instances/c1/snapshots (would create a snapshot)"},
		{"PUT", "/1.0", "DryRun: PUT /1.0"},
	}
	for _, tc := range cases {
		_, err := c.Do(ctx, &Request{Method: tc.method, Path: tc.path, Body: map[string]any{}})
		require.Error(t, err, tc.method+" "+tc.path)
		assert.Equal(t, tc.want, err.Error())
		assert.True(t, errors.Is(err, ErrDryRun))
		assert.False(t, errors.Is(err, ErrAPI), "a refusal is not an LXD error")
		var e *Error
		require.True(t, errors.As(err, &e))
		assert.Equal(t, []string{"DryRun"}, e.Kinds())
	}
	assert.Len(t, f.Requests(), before+1, "only the read reached the server")
}

func TestWithDryRunSharesTheClient(t *testing.T) {
	f, c := newFake(t, Config{})
	d := c.WithDryRun()
	assert.True(t, d.DryRun())
	assert.False(t, c.DryRun(), "the original still writes")
	_, err := d.Do(context.Background(), &Request{Method: "DELETE", Path: Path("profiles", "default")})
	assert.True(t, errors.Is(err, ErrDryRun))
	_, ok := f.Get(Path("profiles", "default"))
	assert.True(t, ok)
}
