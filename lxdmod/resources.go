package lxdmod

// STUB (issue 3 helper B replaces this file and may split it): profiles,
// projects, networks, storage, operations, certificates, authenticate.

import "go.starlark.net/starlark"

func newProfileManager(c *Client) starlark.Value     { return nil }
func newProjectManager(c *Client) starlark.Value     { return nil }
func newNetworkManager(c *Client) starlark.Value     { return nil }
func newStoragePoolManager(c *Client) starlark.Value { return nil }
func newOperationManager(c *Client) starlark.Value   { return nil }
func newCertificateManager(c *Client) starlark.Value { return nil }

func clientAuthenticate(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return nil, notYet(b)
}
