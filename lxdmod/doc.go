// Package lxdmod is the Starlark `lxd` module: the values scripts see and
// the rules they follow. It holds Starlark values only; HTTP is the REST
// client's (lxdmod/rest), and Go-only helpers live in internal/: argument
// types in starargs, JSON to Starlark values and back in starjson, a
// command's text encodings in textcodec, file modes in filemode, the
// progress line in progress, host-file writing in hostfile.
//
// Go hosts use a small surface:
//
//   - New(Config) returns a Module: its Value is what scripts see as lxd;
//     Wait and Failed report the operations scripts started with wait=False
//     and whose failure nobody saw (an *UnwaitedError listing
//     OperationFailures).
//   - Config holds the defaults of lxd.Client(): endpoint, remote,
//     project, certificate, timeouts, trace and progress writers, and the
//     environment it reads; or a *rest.Client to share.
//   - The values scripts handle are Go types too: *Client (Rest gives its
//     REST client), *Model (every LXD object: Dirty, Thaw), *Operation,
//     *EventStream (Done), *ExecResult and *Record (a read-only server
//     object such as an InstanceState).
//
// Inside, one generic mechanism serves every resource type:
//
//   - model.go: a modelType table per type (writable fields, URL path,
//     key, methods) behind the one Model, with dirty tracking (a canonical
//     copy of what the server holds), save with the read's ETag,
//     sync/rollback, and the object's pending operation.
//   - manager.go: a managerKind per collection (client.instances,
//     inst.snapshots, ...) behind the one manager.
//   - methods.go: method tables built once when the package is
//     initialised and bound to their receiver on each read, as
//     go.starlark.net's starlark/library.go does; args.go: the argument
//     types methods declare in starlark.UnpackArgs.
//   - operation.go: every request that may start an LXD operation goes
//     through (*Client).run, which applies the wait rules; ledger.go keeps
//     the operations started with wait=False until their outcome is seen.
//
// The per-type files (instance.go, images.go, storage.go, networks.go, ...)
// hold tables and the methods that are more than a table entry.
package lxdmod
