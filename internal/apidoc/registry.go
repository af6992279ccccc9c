package apidoc

// The documentation itself, the per-call half of docs/guide.md, including
// the parts still being implemented. To document a new method, add one
// line to the right section: method("Instance.new_thing", "(x, wait=False)",
// "Operation", "What it does."). docs/reference.md is generated from this
// file (go generate ./internal/apidoc).

// managerAliases maps other names of a manager to its canonical key: the
// typed instance managers share the instances documentation, and
// sub-managers may be named after their path.
var managerAliases = map[string]string{
	"containers":               "instances",
	"virtual_machines":         "instances",
	"storage_volumes":          "volumes",
	"pool.volumes":             "volumes",
	"storage_volume_snapshots": "volume_snapshots",
	"volume.snapshots":         "volume_snapshots",
	"cluster.members":          "members",
	"cluster_members":          "members",
	"resources":                "storage_pool_resources",
	"pool.resources":           "storage_pool_resources",
	"instance.snapshots":       "snapshots",
	"instance.files":           "files",
	"instance.backups":         "backups",
	"instance.logs":            "logs",
	"volume.backups":           "volume_backups",
	"storage_volume_backups":   "volume_backups",
}

func fn(key, params, returns, doc string) Entry {
	return Entry{Key: key, Kind: Function, Params: params, Returns: returns, Doc: doc}
}

func method(key, params, returns, doc string) Entry {
	return Entry{Key: key, Kind: Method, Params: params, Returns: returns, Doc: doc}
}

func typ(key, doc string) Entry { return Entry{Key: key, Kind: Type, Doc: doc} }

func module(key, doc string) Entry { return Entry{Key: key, Kind: Module, Doc: doc} }

func manager(key, doc string) Entry { return Entry{Key: key, Kind: Manager, Doc: doc} }

// attr documents a plain attribute whose value is of type returns.
func attr(key, returns, doc string) Entry {
	return Entry{Key: key, Kind: Attribute, Returns: returns, Doc: doc}
}

// sub documents an attribute holding a manager or another documented
// value (the entry of key of).
func sub(key, of, doc string) Entry {
	return Entry{Key: key, Kind: Attribute, Returns: of, Of: of, Doc: doc}
}

// Common model methods and attributes (docs/guide.md, “Objects”),
// instantiated per type.
const (
	saveDoc     = "Write the writable fields to the server: one PUT of the server's copy with the script's changes applied, with If-Match on the ETag last read, so LXD's own volatile.* keys are never dropped (assigning a whole config dict replaces the script's keys and keeps LXD's). Makes no request when the object is not dirty; fails with Conflict, the server untouched, if the object changed on the server since it was read (then sync() and save() again). Once done the object holds the server's state and is clean, whether or not anybody waited."
	syncDoc     = "Re-read the object from the server and re-apply the script's unsaved changes on top, key by key in dict fields (each key set or deleted since the last read), whole values elsewhere: after a Conflict, sync() then save() sends exactly the script's own changes and keeps another writer's."
	rollbackDoc = "Re-read the object from the server and discard local changes."
	deleteDoc   = "Delete the object on the server. With wait=False the pending Operation is returned when LXD runs the deletion in the background."
	toDictDoc   = "Return a plain dict of all fields (json-encodable); json.encode(obj) encodes the same."
	dirtyDoc    = "True exactly when some writable field differs from what the server last returned; assignments and nested mutations (config[k] = v) both count."
	opDoc       = "The object's own pending state-changing Operation (create, start/stop/…, rename, save, delete, restore, migrate, … started with wait=False), or None. Any call on the object that talks to the server first waits for it; if it failed, that call fails once with its error, naming it and the script line that started it. Reading it never blocks."
)

// modelCommon returns the entries every model type shares. save and
// delete are included only when the type has them.
func modelCommon(t string, save, del bool) []Entry {
	out := []Entry{
		attr(t+".dirty", "bool", dirtyDoc),
		sub(t+".operation", "Operation", opDoc),
		method(t+".sync", "()", "", syncDoc),
		method(t+".rollback", "()", "", rollbackDoc),
		method(t+".to_dict", "()", "dict", toDictDoc),
	}
	if save {
		out = append(out, method(t+".save", "(wait=False)", "", saveDoc))
	}
	if del {
		out = append(out, method(t+".delete", "(wait=False)", "", deleteDoc))
	}
	return out
}

// named returns the entries of a server-wide collection of objects of
// type t named by their name, such as client.profiles: the manager mgr and
// its all, get and exists. what is one object in words ("profile").
func named(mgr, t, what string) []Entry {
	return []Entry{
		manager(mgr, "Manager of "+what+"s: all, get, exists, create."),
		method(mgr+".all", "()", "["+t+"]", "All "+what+"s."),
		method(mgr+".get", "(name)", t, "The "+what+" named name."),
		method(mgr+".exists", "(name)", "bool", "True when the "+what+" exists."),
	}
}

// rename returns the entry of t.rename, for a type whose objects take
// their new name; what is one object in words.
func rename(t, what string) Entry {
	return method(t+".rename", "(new_name, wait=False)", "", "Rename the "+what+"; the object takes the new name.")
}

func join(groups ...[]Entry) []Entry {
	var out []Entry
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func sections() []section {
	return []section{
		{title: "Script builtins", intro: "Predeclared in every script and in the REPL, next to Starlark's own builtins ([guide: The script environment](guide.md#the-script-environment)).", entries: builtinEntries()},
		{title: "REPL builtins", intro: "Predeclared in the interactive REPL only.", entries: replEntries()},
		{title: "The lxd module", intro: "The module every script sees as lxd ([guide: Connecting](guide.md#connecting), [guide: Background operations and wait](guide.md#background-operations-and-wait)).", entries: lxdEntries()},
		{title: "Client", intro: "A connection to one LXD server, in one project ([guide: Connecting](guide.md#connecting)).", entries: clientEntries()},
		{title: "Instances", intro: "client.instances, client.containers and client.virtual_machines ([guide: Instances](guide.md#instances)). containers and virtual_machines are the same manager limited to one instance type.", entries: instanceEntries()},
		{title: "Instance snapshots", intro: "instance.snapshots ([guide: Snapshots](guide.md#snapshots)).", entries: snapshotEntries()},
		{title: "Instance backups, logs and console", intro: "instance.backups, volume.backups (custom volumes), instances.create_from_backup, pool.volumes.create_from_backup, instance.logs and the console methods ([guide: Backups, logs and the console](guide.md#backups-logs-and-the-console)). Backups need the API extension container_backup (custom_volume_backup for volumes), the console methods console; on a server without, each call fails with LXDAPIExtensionNotAvailable naming it.", entries: backupEntries()},
		{title: "Instance files", intro: "instance.files; all paths are absolute paths inside the instance ([guide: Files](guide.md#files)).", entries: fileEntries()},
		{title: "Images", intro: "client.images ([guide: Images](guide.md#images)).", entries: imageEntries()},
		{title: "Networks, profiles, projects", intro: "client.networks, client.profiles and client.projects ([guide: Networks, profiles and projects](guide.md#networks-profiles-and-projects)). rename() updates the object itself.", entries: npEntries()},
		{title: "Network ACLs, forwards, peers and zones", intro: "client.network_acls, network.forwards, network.peers, client.network_zones and zone.records ([guide: Networks, profiles and projects](guide.md#networks-profiles-and-projects)). Each manager needs an API extension (network_acl, network_forward, network_peer, network_dns, network_dns_records) and fails with LXDAPIExtensionNotAvailable naming it on a server without. LXD answers these synchronously.", entries: netModelEntries()},
		{title: "Storage", intro: "client.storage_pools, pool.volumes and volume.snapshots ([guide: Storage](guide.md#storage)).", entries: storageEntries()},
		{title: "Desired state: plan and apply", intro: "Say what should exist, see the difference, make it so, with no state file: specs built by lxd.project, lxd.storage_pool, lxd.network, lxd.profile, lxd.volume and lxd.instance (whose parameters mirror the managers' create), client.plan to compare them with the server, client.apply to carry the plan out ([guide: Desired state: plan and apply](guide.md#desired-state-plan-and-apply)). Under lxdstar --dry-run, every apply prints its plan and changes nothing.", entries: planEntries()},
		{title: "Operations", intro: "client.operations and the Operation values async methods return ([guide: Background operations and wait](guide.md#background-operations-and-wait)).", entries: operationEntries()},
		{title: "Certificates and cluster", intro: "client.certificates and client.cluster ([guide: Operations, certificates, clusters, warnings, metrics](guide.md#operations-certificates-clusters-warnings-metrics)).", entries: certClusterEntries()},
		{title: "Warnings and metrics", intro: "client.warnings and client.metrics() ([guide: Operations, certificates, clusters, warnings, metrics](guide.md#operations-certificates-clusters-warnings-metrics)).", entries: warningEntries()},
		{title: "Events", intro: "client.events() ([guide: Events](guide.md#events)).", entries: eventEntries()},
		{title: "Raw API", intro: "client.api, the raw REST tree ([guide: Connecting](guide.md#connecting)).", entries: apiEntries()},
		{title: "json, time, math", intro: "go.starlark.net's lib/json, lib/time and lib/math; time.sleep is lxdstar's.", entries: libEntries()},
		{title: "Starlark builtins", intro: "The language's own builtin functions.", entries: universeEntries()},
	}
}

func builtinEntries() []Entry {
	return []Entry{
		fn("catch", "(fn, *args, **kwargs)", "Result", "Call fn(*args, **kwargs) and return a Result instead of failing: truthy on success, with .value (reading it on an error fails with that error) and .error (None or an Error). It unpacks as value, err = catch(...). Interruptions (Ctrl-C, a cancelled context) and sys.exit are not caught."),
		fn("struct", "(**kwargs)", "struct", "Return an immutable struct whose attributes are the keyword arguments: struct(name=\"web\", cpus=2).name."),
		fn("read_file", "(path)", "bytes", "Read a host file and return its contents as bytes (str(b) decodes UTF-8)."),
		fn("write_file", "(path, data)", "", "Write data (str or bytes) to a host file, creating or truncating it."),
		fn("print", "(*args, sep=\" \")", "", "Print the arguments, separated by sep, to standard output."),
		fn("fail", "(*args, sep=\" \")", "", "Stop the script with an error made of the arguments; the command exits 1 and shows the backtrace."),
		typ("Result", "What catch returns: truthy when the call succeeded. .value holds the result (reading it after a failure fails with the error), .error is None or an Error; unpacks as value, err."),
		attr("Result.value", "any", "The call's result; reading it when the call failed fails with that error."),
		sub("Result.error", "Error", "None on success, else the Error."),
		typ("Error", "A failure caught by catch(): .kind (e.g. \"NotFound\"), .status_code (HTTP/LXD status or None), .message, and .is_a(kind)."),
		attr("Error.kind", "str", "The most specific kind: LXDAPIException, NotFound, Conflict, LXDAPIExtensionNotAvailable, ClientConnectionFailed, Timeout, Cancelled, DryRun (lxdstar --dry-run refused a request that would change a server), or Error for anything else."),
		attr("Error.kinds", "list", "The error's kind and every kind above it, most specific first."),
		attr("Error.status_code", "int", "The HTTP or LXD status of an LXD error, else None."),
		attr("Error.message", "str", "The error message, starting with its kind."),
		method("Error.is_a", "(kind)", "bool", "True when the error is of kind or of a kind below it (NotFound is_a LXDAPIException); every error is_a(\"Error\")."),
		module("sys", "The script's environment: sys.argv, sys.env and sys.exit."),
		attr("sys.argv", "list", "The script path followed by its arguments."),
		attr("sys.env", "dict", "The process environment."),
		fn("sys.exit", "(code=0)", "", "End the script with exit status code (the REPL exits too). catch() does not intercept it."),
		module("yaml", "YAML encoding and decoding with the go.yaml.in/yaml/v3 library: yaml.encode and yaml.decode."),
		fn("yaml.encode", "(x)", "str", "Encode x as a YAML document (block style, two-space indentation, ending in a newline). None, bools, ints of any size, floats (inf and nan included), strings, bytes (as !!binary), lists, tuples and dicts (keys in their order; keys may be strings, numbers, bools or None) are encoded; a model is encoded as its to_dict(), a struct as its fields. Strings that would read back as another type are quoted, so yaml.decode(yaml.encode(x)) == x for these values (tuples come back as lists). Anything else fails, naming where it sits: yaml.encode: for parameter x: at [\"a\"][1]: cannot encode function as YAML."),
		fn("yaml.decode", "(x)", "any", "Decode one YAML document (str or bytes) into None, bool, int (any size; 0x/0o/0b too), float, str, bytes (!!binary), list and dict (keys in document order). An empty document is None; timestamps stay strings; anchors and aliases share one value; merge keys (<<) are applied. Invalid YAML, duplicate keys, non-scalar keys and a second document fail with the line: yaml.decode: line 3: ..."),
		fn("table", "(rows, *, columns=None)", "str", "Lay rows out in aligned columns under a header, as `lxc list --format compact` does: two blanks before and between columns, headers upper-cased (\"_\" shown as a blank) and centred, cells left-aligned, wide characters counted as two columns, a cell's lines on lines of their own; no trailing blanks and no final newline (print(table(rows))). A row is a dict (cells by key), a list or tuple (cells in column order), or an object with attributes such as a model or a struct (cells by attribute name: table(client.instances.all(), columns=[\"name\", \"status\"])). columns picks and orders the columns; by default they are the first row's keys, so rows of lists or objects need it. Missing keys and attributes and None are blank; strings are shown as they are, other values as str() gives them. No rows and no columns give \"\"."),
	}
}

func replEntries() []Entry {
	return []Entry{
		fn("help", "(x=None)", "", "Without an argument, list what is predeclared. help(x) prints the signature and description of a builtin, module, manager, model object or method, e.g. help(client.instances.create); help(\"Instance.start\") looks a name up in the registry."),
		fn("exit", "(code=0)", "", "Leave the REPL with exit status code. Ctrl-D at the prompt leaves too."),
		sub("client", "Client", "An lxd.Client() with the command's connection flags, connected on first use (reading any attribute). Until then, Tab completion lists what a Client has without connecting."),
	}
}

func lxdEntries() []Entry {
	return []Entry{
		module("lxd", "The lxd module: lxd.Client to connect, lxd.wait_all to wait for many operations, lxd.EventType for client.events(), and the spec constructors for client.plan and client.apply (lxd.project, lxd.storage_pool, lxd.network, lxd.profile, lxd.volume, lxd.instance)."),
		fn("lxd.Client", "(endpoint=None, version=\"1.0\", cert=None, verify=True, timeout=None, project=None, *, remote=None)", "Client", "Connect to LXD with one GET /1.0 (failure: ClientConnectionFailed). endpoint=None finds the local unix socket, the first that exists of $LXD_SOCKET, $LXD_DIR/unix.socket, $INCUS_SOCKET, $INCUS_DIR/unix.socket, /var/snap/lxd/common/lxd/unix.socket, /var/lib/lxd/unix.socket, /run/incus/unix.socket, /var/lib/incus/unix.socket (the error names every path tried); a path or unix:///path is a socket, otherwise an https://host:port URL. cert=(crt_path, key_path) is the client certificate (for https, the lxc or else the incus client certificate is used when present: client.crt/client.key in $LXD_CONF, ~/.config/lxc or ~/snap/lxd/common/config, then $INCUS_CONF or ~/.config/incus); verify=False skips server verification and a PEM path pins a certificate; remote=\"name\" reads endpoint, certificates and pinned servercerts/<name>.crt from the lxc CLI configuration, else from incus's (an unknown name lists the remotes of both); project scopes every request; timeout bounds single HTTP requests, never operation waits. The command's flags give the defaults."),
		attr("lxd.EventType", "struct", "Event types for client.events(): All=\"all\", Operation=\"operation\", Logging=\"logging\", Lifecycle=\"lifecycle\"."),
		fn("lxd.wait_all", "(*ops, timeout=None)", "list", "Wait concurrently for many operations (or objects with a pending .operation, commands started with execute(wait=False), or lists of them) and return their results in order; the commands' output handlers are called meanwhile. The first failure fails the call after all have ended; timeout (seconds) bounds the whole wait and fails with Timeout."),
	}
}

func clientEntries() []Entry {
	return []Entry{
		typ("Client", "A connection to one LXD server in one project, made by lxd.Client(). Its attributes give server information and the managers (instances, images, …); reading them makes no request except client.resources."),
		sub("Client.api", "api", "The raw API tree: client.api.instances[\"c1\"].get(). Attributes and [item] append path segments (storage_pools → storage-pools)."),
		attr("Client.host_info", "dict", "The server's GET /1.0 metadata, as read on connection."),
		attr("Client.trusted", "bool", "Whether the server trusts this client."),
		attr("Client.server", "str", "Which server this is: \"lxd\" or \"incus\" (Incus, LXD's community fork, with the same API). Told apart by GET /1.0, which for an untrusted client means by Incus's own API extensions. lxdstar absorbs the differences (header names, trust tokens, exit codes), so scripts rarely need it."),
		attr("Client.server_version", "str", "The server's version (\"5.0.2\", \"6.0.4\"), from GET /1.0; None for an untrusted client, which the server does not tell."),
		attr("Client.server_clustered", "bool", "Whether the server is a cluster member."),
		{Key: "Client.resources", Kind: Attribute, Returns: "dict", IO: true, Doc: "The server's hardware resources (GET /1.0/resources); every read makes a request."},
		attr("Client.project", "str", "The project every request runs in, or None for the default."),
		method("Client.has_api_extension", "(name)", "bool", "True when the server has the API extension name (from GET /1.0, no request)."),
		method("Client.assert_has_api_extension", "(name)", "", "Fail with LXDAPIExtensionNotAvailable unless the server has the API extension name."),
		method("Client.authenticate", "(secret)", "", "Ask the server to trust this client's certificate, using a trust password (LXD 5.0) or a trust token (LXD and Incus; sent as trust_token to Incus and to LXD with the explicit_trust_token extension, else as password)."),
		method("Client.events", "(event_types=None, *, project=None, all_projects=False)", "EventStream", "Open /1.0/events and return an EventStream. event_types is a list or set of lxd.EventType values (None, or a set containing All, means every type)."),
		sub("Client.instances", "instances", "The instances manager (containers and virtual machines)."),
		sub("Client.containers", "instances", "The instances manager limited to containers: all/get/exists see only containers and create makes one."),
		sub("Client.virtual_machines", "instances", "The instances manager limited to virtual machines."),
		sub("Client.images", "images", "The images manager."),
		sub("Client.networks", "networks", "The networks manager."),
		sub("Client.network_acls", "network_acls", "The network ACLs manager."),
		sub("Client.network_zones", "network_zones", "The network DNS zones manager."),
		sub("Client.profiles", "profiles", "The profiles manager."),
		sub("Client.projects", "projects", "The projects manager."),
		sub("Client.storage_pools", "storage_pools", "The storage pools manager."),
		sub("Client.operations", "operations", "The operations manager."),
		sub("Client.certificates", "certificates", "The trusted certificates manager."),
		sub("Client.cluster", "cluster", "The cluster manager."),
		sub("Client.warnings", "warnings", "The warnings manager (needs the warnings API extension)."),
		method("Client.metrics", "()", "[struct]", "The server's metrics (GET /1.0/metrics, OpenMetrics text parsed): a list of struct(name, labels, value) with labels a dict and value a float, e.g. lxd_procs_total{name=\"c1\", project=\"default\"} 4.0. A project-bound client gets its project's. Needs the metrics API extension."),
	}
}

func instanceEntries() []Entry {
	action := func(name, what string) Entry {
		return method("Instance."+name, "(timeout=30, force=True, wait=False)", "", what+" With wait=False the pending Operation is returned; once done the object is re-read, so .status is current.")
	}
	return join([]Entry{
		manager("instances", "Manager of instances: exists, all, get, create. client.containers and client.virtual_machines are the same manager limited to one instance type."),
		method("instances.exists", "(name)", "bool", "True when an instance (of the manager's type) named name exists."),
		method("instances.all", "(*, recursion=1, filter=None, fields=None)", "[Instance]", "All instances, complete, in one request. filter is an LXD filter expression; recursion=2 also fills each instance's read-only full_state and full_snapshots. fields (with recursion=2) lists the parts of the state to read, e.g. [\"state.disk\"] ([] for none), on a server with the instances_state_selective_recursion extension; elsewhere the whole state is read."),
		method("instances.get", "(name)", "Instance", "The instance named name; fails with NotFound."),
		method("instances.create_from_backup", "(path, *, name=None, pool=None, wait=False)", "Instance", "Create an instance from the backup tarball at the host path (as Backup.export_to or `lxc export` writes it, from this server or another), streamed up as it is read. name replaces the name the backup records (API extension backup_override_name), pool puts it in that storage pool (container_backup_override_pool). With a name the Instance comes back in both wait modes; without one the backup names it, so wait=False returns the Operation, whose wait() gives the Instance. A server that refuses the backup (LXD 5.0 refuses Incus's) fails the call with its reason, naming the server."),
		method("instances.create", "(config, wait=False, target=None)", "Instance", "Create an instance from config, the LXD InstancesPost body (name, source, config, devices, profiles, …); target places it on a cluster member, or with \"@group\" in a cluster group. Returns the Instance at once: with wait=False its .operation holds the pending Operation, with wait=True it is complete. Without a name in config LXD picks one, and wait=False returns the Operation, whose wait() gives the Instance."),
		typ("Instance", "An LXD instance (container or virtual machine). Writable fields: architecture, config, devices, ephemeral, profiles, description; read-only: name, status, status_code, created_at, last_used_at, location, type, stateful, expanded_config, expanded_devices, project and any other field LXD returns."),
		action("start", "Start the instance."),
		action("stop", "Stop the instance (force=True kills it rather than asking it to shut down)."),
		action("restart", "Restart the instance."),
		action("freeze", "Freeze (pause) the instance's processes."),
		action("unfreeze", "Unfreeze (resume) the instance."),
		method("Instance.rename", "(name, wait=False)", "", "Rename the instance; the object takes the new name once done."),
		method("Instance.state", "()", "InstanceState", "Read the instance's runtime state: status, status_code, pid, processes, cpu, memory, disk, network."),
		method("Instance.execute", "(commands, environment=None, encoding=None, decode=True, stdin_payload=None, stdin_encoding=\"utf-8\", stdout_handler=None, stderr_handler=None, user=None, group=None, cwd=None, *, timeout=None, wait=True)", "ExecResult", "Run commands (a list of strings; use [\"sh\", \"-c\", …] for a shell line) in the instance and block until it ends. stdin_payload (str or bytes) is fed to stdin, which is then closed; stdout_handler/stderr_handler are called with each chunk as it arrives. A non-zero exit is not an error; timeout kills the command and fails with Timeout. Ctrl-C stops it. With wait=False the command runs in the background and an Operation is returned at once, whose wait() gives the ExecResult: lxd.wait_all(*[i.execute(cmd, wait=False) for i in insts]) runs many at once. Its handlers are then called on the script's thread while it waits for the command, with everything that arrived, in order; output is kept until then."),
		method("Instance.wait_for", "(*, status=None, ipv4=False, ipv6=False, interface=None, agent=False, path=None, command=None, timeout=60)", "InstanceState", "Wait until every given condition holds at once and return the instance's state. status: \"Running\", \"Stopped\" or \"Frozen\"; ipv4/ipv6: a global address (not loopback, not link-local) on interface, or on any interface but lo; agent: a VM's agent answers (a container: Running); path: exists in the instance; command: a list of strings that exits 0. Status changes are followed through LXD's lifecycle events, the rest is polled at a growing interval. Fails with Timeout after timeout seconds (None: no limit), naming what was still missing and the last state seen."),
		method("Instance.raw_interactive_execute", "(commands, environment=None, user=None, group=None, cwd=None)", "dict", "Start an interactive exec and return {\"name\", \"ws\", \"control\"}: the websocket paths to attach to."),
		method("Instance.migrate", "(new_client=None, live=False, wait=False, *, target=None)", "Instance", "Move the instance to another server (new_client) or cluster member (target). Keeps type, ephemeral flag and profiles, never copies volatile.* keys, and deletes the source only after the target succeeded. Returns the Instance where it landed. Works between LXD and Incus; when one of the two servers refuses, the error names it (source or target) and gives its reason."),
		method("Instance.copy", "(name, *, new_client=None, target=None, instance_only=False, wait=False)", "Instance", "Copy the instance to name on the same server, on new_client, or on cluster member target; instance_only leaves snapshots out. Works between LXD and Incus in both directions, except what a server refuses (LXD 5.0 refuses Incus snapshots: copy those with instance_only=True); the error then names the refusing server and its reason."),
		method("Instance.publish", "(public=False, wait=False, *, alias=None)", "Image", "Publish the instance as an image (optionally public, with an alias); returns the Image with wait=True."),
		method("Instance.restore_snapshot", "(snapshot_name, wait=False, *, stateful=False)", "", "Restore the instance from its snapshot snapshot_name."),
		sub("Instance.snapshots", "snapshots", "The instance's snapshots manager."),
		sub("Instance.files", "files", "The instance's file manager."),
		sub("Instance.backups", "backups", "The instance's backups manager."),
		sub("Instance.logs", "logs", "The instance's log files: all(), get(name), delete(name)."),
		method("Instance.console_log", "()", "str", "The instance's console log (GET …/console), as the server has it. LXD 5.0.2 fails with LXD's \"open : no such file or directory\" for a container whose console was never attached; Incus 6.0 gives \"\" then."),
		method("Instance.clear_console_log", "()", "", "Empty the instance's console log."),
		method("Instance.raw_console", "()", "dict", "Open a console session (80x25) and return {\"ws\", \"control\"}: the paths of its websockets, to attach to as for raw_interactive_execute (\"ws\" carries the terminal both ways). The session waits for someone to attach and ends when they leave; LXD 5.0 cannot cancel a session nobody attached to (it lasts, outliving even its instance, until the daemon restarts), so attach to the sockets you ask for."),
	}, modelCommon("Instance", true, true), []Entry{
		typ("InstanceState", "An instance's runtime state, as LXD returns it: status, status_code, pid, processes, cpu, memory, disk, network (dicts)."),
		typ("ExecResult", "The result of Instance.execute: .exit_code, .stdout, .stderr (str when decode=True, else bytes); unpacks as code, out, err."),
	})
}

func snapshotEntries() []Entry {
	return join([]Entry{
		manager("snapshots", "Manager of an instance's snapshots: all, get, exists, create."),
		method("snapshots.all", "()", "[Snapshot]", "All snapshots of the instance."),
		method("snapshots.get", "(name)", "Snapshot", "The snapshot named name (without the instance prefix)."),
		method("snapshots.exists", "(name)", "bool", "True when the instance has a snapshot named name."),
		method("snapshots.create", "(name, stateful=False, wait=False, *, expires_at=None)", "Snapshot", "Snapshot the instance as name (stateful also saves its memory); expires_at is an RFC 3339 time. Returns the Snapshot at once; with wait=False its .operation is pending."),
		typ("Snapshot", "An instance snapshot. Fields: name (without the instance prefix), created_at, stateful, expires_at (writable), size, and any other field LXD returns."),
		rename("Snapshot", "snapshot"),
		method("Snapshot.publish", "(public=False, wait=False)", "Image", "Publish the snapshot as an image."),
		method("Snapshot.restore", "(wait=False)", "", "Restore the instance to this snapshot."),
	}, modelCommon("Snapshot", true, true))
}

func fileEntries() []Entry {
	return []Entry{
		manager("files", "Manager of the files inside an instance: put, get, push, pull, stat, listdir, mk_dir, delete, recursive_put, recursive_get."),
		method("files.put", "(filepath, data, mode=None, uid=None, gid=None, *, append=False)", "", "Write data (str or bytes) to filepath in the instance. mode is an int (0o644) or an octal string (\"0644\"); append adds to an existing file."),
		method("files.mk_dir", "(path, mode=None, uid=None, gid=None)", "", "Create the directory path in the instance."),
		method("files.get", "(filepath)", "bytes", "Read the file filepath from the instance."),
		method("files.push", "(local_path, filepath, mode=None, uid=None, gid=None)", "", "Stream the host file local_path to filepath in the instance; memory does not grow with the file's size. Without mode the file gets the host file's permission bits."),
		method("files.pull", "(filepath, local_path)", "", "Stream the file filepath from the instance to the host file local_path, keeping its mode: written to a temporary file beside local_path and renamed into place, so a failed pull leaves local_path as it was."),
		method("files.stat", "(filepath)", "struct", "Describe filepath: struct(type, mode, uid, gid) with type \"file\", \"directory\" or \"symlink\"."),
		method("files.listdir", "(path)", "[str]", "The names in the directory path."),
		method("files.delete_available", "()", "bool", "True when the server can delete files (API extension file_delete)."),
		method("files.delete", "(filepath)", "", "Delete filepath in the instance."),
		method("files.recursive_put", "(src, dst, mode=None, uid=None, gid=None)", "", "Push the host directory src to dst in the instance; symlinks are pushed as symlinks."),
		method("files.recursive_get", "(remote_path, local_path)", "", "Pull the instance directory remote_path to the host directory local_path, preserving modes and never writing outside local_path."),
	}
}

func imageEntries() []Entry {
	return join([]Entry{
		manager("images", "Manager of images: all, get, get_by_alias, exists, create, create_from_simplestreams, create_from_url."),
		method("images.all", "()", "[Image]", "All images, in one request."),
		method("images.get", "(fingerprint)", "Image", "The image with fingerprint (a unique prefix is enough)."),
		method("images.get_by_alias", "(alias)", "Image", "The image the alias points to (aliases like \"ubuntu/22.04\" are escaped)."),
		method("images.exists", "(fingerprint, alias=False)", "bool", "True when the image exists; with alias=True the argument is an alias."),
		method("images.create", "(image_data, metadata=None, public=False, wait=False)", "Image", "Upload an image: image_data is bytes (a unified tarball, or with metadata the rootfs of a split image). The fingerprint is known up front, so the Image is returned in both wait modes."),
		method("images.create_from_simplestreams", "(server, alias, public=False, auto_update=False, wait=False)", "Image", "Have the server download alias from a simplestreams server."),
		method("images.create_from_url", "(url, public=False, auto_update=False, wait=False)", "Image", "Have the server download an image from url."),
		typ("Image", "An LXD image. Writable fields: properties, public, auto_update, expires_at, profiles; read-only: fingerprint, aliases, architecture, cached, created_at, filename, last_used_at, size, type, uploaded_at, update_source and any other field LXD returns."),
		method("Image.export", "()", "bytes", "Download the image file."),
		method("Image.export_to", "(path)", "", "Stream the image file to the host file path."),
		method("Image.add_alias", "(name, description=\"\")", "", "Add the alias name to the image."),
		method("Image.delete_alias", "(name)", "", "Remove the alias name."),
		method("Image.copy", "(new_client, public=None, auto_update=None, wait=False, *, alias=None)", "Image", "Copy the image to the server of new_client (LXD or Incus, either way) and return it there. The target pulls it with the protocol the source speaks as far as the target knows it: \"incus\" between Incus servers, else \"lxd\" (LXD knows no other; Incus serves it too)."),
	}, modelCommon("Image", true, true))
}

func npEntries() []Entry {
	return join(named("networks", "Network", "network"), []Entry{
		method("networks.create", "(name, description=None, type=None, config=None, wait=False)", "Network", "Create a managed network (type e.g. \"bridge\") and return it."),
		typ("Network", "An LXD network. Fields: name, description (writable), type, config (writable), managed, used_by, status, locations."),
		rename("Network", "network"),
		method("Network.state", "()", "dict", "The network's runtime state."),
	}, modelCommon("Network", true, true), named("profiles", "Profile", "profile"), []Entry{
		method("profiles.create", "(name, config=None, devices=None, description=None, wait=False)", "Profile", "Create a profile and return it."),
		typ("Profile", "An LXD profile. Fields: name, description (writable), config (writable), devices (writable), used_by."),
		rename("Profile", "profile"),
	}, modelCommon("Profile", true, true), named("projects", "Project", "project"), []Entry{
		method("projects.create", "(name, description=None, config=None, wait=False)", "Project", "Create a project and return it."),
		typ("Project", "An LXD project. Fields: name, description (writable), config (writable), used_by."),
		rename("Project", "project"),
	}, modelCommon("Project", true, true))
}

func netModelEntries() []Entry {
	// Every manager here has the same all/get/exists; only the names differ.
	collection := func(mgr, typ, key, what string) []Entry {
		return []Entry{
			method(mgr+".all", "()", "["+typ+"]", "All "+what+", in one request."),
			method(mgr+".get", "("+key+")", typ, "The "+typ+" with "+key+"; fails with NotFound."),
			method(mgr+".exists", "("+key+")", "bool", "True when a "+typ+" with "+key+" exists."),
		}
	}
	return join([]Entry{
		manager("network_acls", "Manager of network ACLs (API extension network_acl): all, get, exists, create."),
	}, collection("network_acls", "NetworkACL", "name", "network ACLs"), []Entry{
		method("network_acls.create", "(name, *, description=None, ingress=None, egress=None, config=None)", "NetworkACL", "Create a network ACL and return it. ingress and egress are lists of rule dicts as LXD takes them ({\"action\": \"allow\", \"source\": \"10.0.0.0/8\", \"state\": \"enabled\"}, …)."),
		typ("NetworkACL", "A network ACL. Fields: name, description (writable), ingress (writable), egress (writable), config (writable), used_by."),
		rename("NetworkACL", "ACL"),
		method("NetworkACL.log", "()", "str", "The ACL's log as LXD returns it (one JSON object per line; API extension network_acl_log). LXD reads it from OVN: on a server without OVN it fails with LXD's \"Only OVN log entries may be retrieved at this time\"."),
	}, modelCommon("NetworkACL", true, true), []Entry{
		sub("Network.forwards", "network_forwards", "The network's address forwards manager."),
		sub("Network.peers", "network_peers", "The network's peerings manager."),
		manager("network_forwards", "Manager of a network's address forwards (API extension network_forward), keyed by listen address: all, get, exists, create."),
	}, collection("network_forwards", "NetworkForward", "listen_address", "forwards of the network"), []Entry{
		method("network_forwards.create", "(listen_address, *, description=None, config=None, ports=None)", "NetworkForward", "Create a forward of listen_address and return it. ports is a list of port dicts as LXD takes them ({\"protocol\": \"tcp\", \"listen_port\": \"80\", \"target_address\": …, \"target_port\": …}); config may hold target_address, the default target. On a bridge the network needs an IPv4 address."),
		typ("NetworkForward", "An address forward of a network. Fields: listen_address, description (writable), config (writable), ports (writable), location. It cannot be renamed. save() sends If-Match, but LXD 5.0 and Incus 6.0 do not check it for forwards: a save overwrites a concurrent change."),
	}, modelCommon("NetworkForward", true, true), []Entry{
		manager("network_peers", "Manager of a network's peerings (API extension network_peer): all, get, exists, create. LXD supports peering on OVN networks only; on other networks every call fails with LXD's error."),
	}, collection("network_peers", "NetworkPeer", "name", "peerings of the network"), []Entry{
		method("network_peers.create", "(name, *, target_project, target_network, description=None, config=None)", "NetworkPeer", "Create a peering named name towards target_network in target_project and return it."),
		typ("NetworkPeer", "A network peering. Fields: name, description (writable), config (writable), target_project, target_network, status."),
	}, modelCommon("NetworkPeer", true, true), []Entry{
		manager("network_zones", "Manager of network DNS zones (API extension network_dns): all, get, exists, create."),
	}, collection("network_zones", "NetworkZone", "name", "network zones"), []Entry{
		method("network_zones.create", "(name, *, description=None, config=None)", "NetworkZone", "Create a DNS zone (e.g. \"lxd.example.net\") and return it."),
		typ("NetworkZone", "A network DNS zone. Fields: name, description (writable), config (writable), used_by. It cannot be renamed."),
		sub("NetworkZone.records", "network_zone_records", "The zone's records manager."),
	}, modelCommon("NetworkZone", true, true), []Entry{
		manager("network_zone_records", "Manager of a zone's DNS records (API extension network_dns_records): all, get, exists, create."),
	}, collection("network_zone_records", "NetworkZoneRecord", "name", "records of the zone"), []Entry{
		method("network_zone_records.create", "(name, *, entries=None, description=None, config=None)", "NetworkZoneRecord", "Create the record name and return it. entries is a list of dicts as LXD takes them ({\"type\": \"A\", \"value\": \"10.0.0.1\", \"ttl\": 300})."),
		typ("NetworkZoneRecord", "A DNS record of a zone. Fields: name, description (writable), entries (writable), config (writable). It cannot be renamed."),
	}, modelCommon("NetworkZoneRecord", true, true))
}

func storageEntries() []Entry {
	putPatch := func(t string) []Entry {
		return []Entry{
			method(t+".put", "(put_object, wait=False)", "", "Replace the object's writable fields with the dict put_object (PUT), then sync."),
			method(t+".patch", "(patch_object, wait=False)", "", "Update the object with the dict patch_object (PATCH), then sync."),
		}
	}
	return join(named("storage_pools", "StoragePool", "storage pool"), []Entry{
		method("storage_pools.create", "(definition, wait=False)", "StoragePool", "Create a pool from definition, the LXD StoragePoolsPost body."),
		typ("StoragePool", "An LXD storage pool. Fields: name, driver, description (writable), config (writable), used_by, managed, status, locations."),
		sub("StoragePool.resources", "storage_pool_resources", "The pool's resources: pool.resources.get()."),
		sub("StoragePool.volumes", "volumes", "The pool's volumes manager."),
	}, putPatch("StoragePool"), modelCommon("StoragePool", true, true), []Entry{
		manager("storage_pool_resources", "A pool's resources: get()."),
		method("storage_pool_resources.get", "()", "struct", "The pool's usage: struct(space, inodes)."),
		manager("volumes", "Manager of a pool's volumes: all, get, exists, create."),
		method("volumes.all", "()", "[StorageVolume]", "All volumes of the pool."),
		method("volumes.get", "(type, name)", "StorageVolume", "The volume of type (\"custom\", \"container\", …) named name."),
		method("volumes.exists", "(type, name)", "bool", "True when the volume exists."),
		method("volumes.create", "(definition, wait=False)", "StorageVolume", "Create a volume from definition, the LXD StorageVolumesPost body."),
		method("volumes.create_from_backup", "(path, name=None, wait=False)", "StorageVolume", "Create a custom volume from the backup tarball at the host path (as StorageVolumeBackup.export_to writes it), streamed up as it is read. name replaces the name the backup records (API extension backup_override_name). With a name the StorageVolume comes back in both wait modes; without one wait=False returns the Operation, whose wait() gives it."),
		typ("StorageVolume", "A storage volume. Fields: name, type, description (writable), config (writable), content_type, used_by, location, created_at, pool."),
		method("StorageVolume.rename", "(new_name, wait=False, *, pool=None, project=None)", "", "Rename the volume, or move it to another pool or project; the object follows."),
		sub("StorageVolume.snapshots", "volume_snapshots", "The volume's snapshots manager."),
		sub("StorageVolume.backups", "volume_backups", "The backups manager of a custom volume."),
	}, putPatch("StorageVolume"), modelCommon("StorageVolume", true, true), []Entry{
		manager("volume_snapshots", "Manager of a volume's snapshots: all, get, exists, create."),
		method("volume_snapshots.all", "()", "[StorageVolumeSnapshot]", "All snapshots of the volume."),
		method("volume_snapshots.get", "(name)", "StorageVolumeSnapshot", "The volume snapshot named name."),
		method("volume_snapshots.exists", "(name)", "bool", "True when the volume has a snapshot named name."),
		method("volume_snapshots.create", "(name=None, expires_at=None, wait=False)", "StorageVolumeSnapshot", "Snapshot the volume (LXD picks a name when None)."),
		typ("StorageVolumeSnapshot", "A storage volume snapshot. Fields: name, description (writable), config (writable), expires_at (writable), content_type, created_at."),
		rename("StorageVolumeSnapshot", "snapshot"),
		method("StorageVolumeSnapshot.restore", "(wait=False)", "", "Restore the volume to this snapshot."),
	}, modelCommon("StorageVolumeSnapshot", true, true))
}

// specRules is what every spec constructor's entry says about the rules.
const specRules = " A spec manages only what it names: the config keys and fields it gives are enforced, keys it does not mention (LXD's volatile.* and image.*, keys other tools set) are left alone, and a key given as None must be absent. Config values are strings (ints and bools are written as LXD writes them)."

func planEntries() []Entry {
	return []Entry{
		fn("lxd.project", "(name, *, config=None, description=None)", "Spec", "The desired state of a project."+specRules),
		fn("lxd.storage_pool", "(name, *, driver, config=None, description=None)", "Spec", "The desired state of a storage pool. driver matters only at creation: on an existing pool a different driver is a note in the plan, never acted on."+specRules),
		fn("lxd.network", "(name, *, type=None, config=None, description=None)", "Spec", "The desired state of a network. type (LXD's default: bridge) matters only at creation: a difference is a note, never acted on."+specRules),
		fn("lxd.profile", "(name, *, config=None, devices=None, description=None)", "Spec", "The desired state of a profile. A device the spec names is enforced whole (a dict of its settings); devices it does not name are left alone; None removes one."+specRules),
		fn("lxd.volume", "(pool, name, *, type=\"custom\", config=None, description=None, content_type=None)", "Spec", "The desired state of a storage volume of pool (the plan names it pool/name). type and content_type matter only at creation."+specRules),
		fn("lxd.instance", "(name, *, source=None, type=\"container\", profiles=None, config=None, devices=None, description=None, ephemeral=None, status=\"Running\", target=None)", "Spec", "The desired state of an instance. source (an image alias string, or LXD's source dict such as {\"type\": \"image\", \"alias\": \"busybox\"}), type and target (a cluster member or \"@group\") matter only at creation: on an existing instance a different source or type is a note, never acted on (apply never re-creates). profiles is enforced as given, in order; devices as for lxd.profile. status (\"Running\", \"Stopped\", \"Frozen\") is enforced by starting, stopping (forced), freezing or unfreezing; None leaves the state alone. Config and profile changes are made in place, without a restart."+specRules),
		typ("Spec", "A value made by lxd.project, lxd.storage_pool, lxd.network, lxd.profile, lxd.volume or lxd.instance: the desired state of one object, for client.plan and client.apply. Its attributes are kind (\"instance\", ...) and the constructor's arguments; repr shows the call that makes it."),
		method("Client.plan", "(specs, *, stack=None, prune=False)", "Plan", "Compare specs (a list of Spec values) with the server and return the Plan that would bring it there. Only reads: one GET per spec (plus one per image alias a source names, and with prune the listings of each kind). stack=\"name\" marks every object the plan creates or updates with config key user.lxdstar.stack=<name>; prune=True (needs stack) also deletes every object carrying that mark that is no longer in specs (instances stopped first). Nothing without the mark is ever deleted."),
		method("Client.apply", "(specs, *, stack=None, prune=False, wait=True)", "Plan", "client.plan(specs, stack=stack, prune=prune).apply(wait=wait): bring the server to specs and return the plan carried out. Applying the same specs again writes nothing; apply([], stack=s, prune=True) tears stack s down. Under --dry-run it prints the plan and changes nothing."),
		typ("Plan", "What apply would do, from client.plan or client.apply. str(plan) reads like a review, in the order the changes run: a summary line (\"plan: 1 to create, 1 to update, 1 to start\"), then + for a creation with its fields, ~ for an update with old -> new per key ((absent) for a key that is not there), > for a state change (\"> instance web2: start (Stopped -> Running)\"), - for a deletion, and # for notes (differences apply never acts on). bool(plan) is True when there is something to do."),
		attr("Plan.changes", "list", "The changes in the order they run: struct(action, kind, name, fields), action one of \"create\", \"update\", \"start\", \"stop\", \"freeze\", \"unfreeze\", \"delete\"; fields a dict {path: (old, new)} with None for absent, e.g. {\"config.limits.memory\": (\"128MB\", \"256MB\")}."),
		attr("Plan.notes", "list", "The differences apply does not act on, as strings (\"instance web1: type is ...\")."),
		method("Plan.apply", "(wait=True)", "Plan", "Carry the plan out: creations and updates in dependency order (projects, pools, networks, profiles, volumes, instances), then deletions in reverse; changes of different objects concurrently, at most 8 at once. Each update is one request with If-Match on what the plan read, so an object changed since fails with Conflict instead of being overwritten. On a failure no further change starts, those under way are waited for, and apply fails with an error listing what was done, what failed (with LXD's message) and what was not attempted. wait=False returns an Operation at once whose wait() returns the plan; its failure is reported like any unwaited operation's. A plan is applied once."),
	}
}

func operationEntries() []Entry {
	return []Entry{
		manager("operations", "Manager of LXD background operations: get, wait_for_operation, all."),
		method("operations.get", "(operation_id)", "Operation", "The operation with id operation_id."),
		method("operations.wait_for_operation", "(operation_id, timeout=None)", "Operation", "Wait for the operation to end (server-side long poll) and return it."),
		method("operations.all", "()", "[Operation]", "All operations of the project."),
		typ("Operation", "An LXD background operation, returned by methods called with wait=False. Fields: id, description, status, status_code, created_at, updated_at, metadata, resources, may_cancel, err, location, op_class."),
		method("Operation.wait", "(timeout=None)", "any", "Wait for the operation to end (server-side long poll, never counted against the client's HTTP timeout) and return exactly what the method with wait=True would have returned (for execute(wait=False), the ExecResult: the command's output handlers are called meanwhile); fails with the operation's error. Ctrl-C interrupts the wait (and kills a command waited for)."),
		method("Operation.cancel", "()", "", "Ask the server to cancel the operation (when may_cancel)."),
		method("Operation.refresh", "()", "", "Re-read the operation's fields from the server."),
		attr("Operation.progress", "str", "LXD's *_progress metadata, e.g. \"download: 42% (12.3MB/s)\", or None."),
	}
}

func certClusterEntries() []Entry {
	return join([]Entry{
		manager("certificates", "Manager of trusted certificates: all, get, create."),
		method("certificates.all", "()", "[Certificate]", "All trusted certificates."),
		method("certificates.get", "(fingerprint)", "Certificate", "The certificate with fingerprint."),
		method("certificates.exists", "(fingerprint)", "bool", "True when a certificate with fingerprint is trusted."),
		method("certificates.create", "(password, cert_data, cert_type=\"client\", name=\"\", projects=None, restricted=False)", "Certificate", "Add cert_data (PEM) to the trust store, authenticating with password when the client is not trusted."),
		typ("Certificate", "A trusted certificate. Fields: fingerprint, certificate, type, name (writable), projects (writable), restricted (writable)."),
	}, modelCommon("Certificate", true, true), []Entry{
		manager("cluster", "The cluster manager: get(), members and groups."),
		method("cluster.get", "()", "Cluster", "The cluster's configuration."),
		sub("cluster.members", "members", "The cluster members manager."),
		sub("cluster.groups", "cluster_groups", "The cluster groups manager."),
		typ("Cluster", "A cluster: server_name, enabled, member_config, and .members and .groups."),
		sub("Cluster.members", "members", "The cluster members manager."),
		sub("Cluster.groups", "cluster_groups", "The cluster groups manager."),
	}, modelCommon("Cluster", false, false), []Entry{
		manager("members", "Manager of cluster members: all, get."),
		method("members.all", "()", "[ClusterMember]", "All members of the cluster."),
		method("members.get", "(server_name)", "ClusterMember", "The member named server_name."),
		method("members.exists", "(server_name)", "bool", "True when the cluster has a member named server_name."),
		typ("ClusterMember", "A cluster member. Fields: server_name, url, database, status, message, roles, architecture, failure_domain (writable), description (writable), config (writable: scheduler.instance and user.* keys), groups (writable)."),
		method("ClusterMember.evacuate", "(wait=False)", "", "Evacuate the member: LXD moves its instances to other members, or stops those it cannot move, and marks it Evacuated. An operation like any other: wait=False returns the pending Operation; once done the member is re-read, so .status is current. Needs the clustering_evacuation API extension."),
		method("ClusterMember.restore", "(wait=False)", "", "Bring an evacuated member back: LXD returns the instances it moved and starts those it stopped. wait=False returns the pending Operation; once done the member is re-read. Needs the clustering_evacuation API extension."),
		method("ClusterMember.state", "()", "dict", "The member's state (GET …/state: sysinfo with load, memory and uptime; storage_pools). Needs the cluster_member_state API extension, which LXD 5.0 lacks."),
	}, modelCommon("ClusterMember", true, true), []Entry{
		manager("cluster_groups", "Manager of cluster groups (the clustering_groups API extension): all, get, exists, create. Place an instance in a group with instances.create(..., target=\"@group\")."),
		method("cluster_groups.all", "()", "[ClusterGroup]", "All cluster groups."),
		method("cluster_groups.get", "(name)", "ClusterGroup", "The group named name."),
		method("cluster_groups.exists", "(name)", "bool", "True when a group named name exists."),
		method("cluster_groups.create", "(name, *, description=None, members=None)", "ClusterGroup", "Create a group holding the members named in members (a list of member names)."),
		typ("ClusterGroup", "A group of cluster members. Fields: name, description (writable), members (writable: a list of member names). LXD keeps every member in at least one group (a member whose only group this is stays in it) and deletes only empty groups; the default group cannot be renamed or deleted."),
		rename("ClusterGroup", "group"),
	}, modelCommon("ClusterGroup", true, true))
}

func warningEntries() []Entry {
	return join([]Entry{
		manager("warnings", "Manager of the server's warnings (the warnings API extension): all, get, exists. A project-bound client sees its project's warnings."),
		method("warnings.all", "()", "[Warning]", "All warnings, whatever their status."),
		method("warnings.get", "(uuid)", "Warning", "The warning with uuid."),
		method("warnings.exists", "(uuid)", "bool", "True when a warning with uuid exists."),
		typ("Warning", "Something the server noticed for an operator. Fields: uuid, status (writable: \"new\" or \"acknowledged\"; LXD sets \"resolved\" itself), type, count, severity, project, location, entity_url, first_seen_at, last_seen_at, last_message."),
		method("Warning.acknowledge", "()", "", "Set the warning's status to acknowledged on the server and re-read it."),
	}, modelCommon("Warning", true, true))
}

func eventEntries() []Entry {
	return []Entry{
		typ("EventStream", "A stream of LXD events from client.events(). `for ev in stream:` blocks for each next event (a dict as LXD sends it); break ends the loop. It answers server pings, never grows without bound and is closed when the script ends."),
		method("EventStream.next", "(timeout=None)", "dict", "The next event, or None when timeout (seconds) passes first."),
		method("EventStream.connect", "()", "", "Open the connection (pylxd style; the stream connects on first use anyway)."),
		method("EventStream.run", "(timeout=None, limit=None)", "", "Collect events into .messages until timeout seconds pass or limit events arrived (pylxd style)."),
		attr("EventStream.messages", "list", "The events collected by run()."),
		method("EventStream.close", "()", "", "Close the stream."),
		attr("EventStream.dropped", "int", "How many events were dropped because the script read too slowly: the stream buffers at most 1024 and drops the oldest."),
		attr("EventStream.closed", "bool", "Whether the stream is closed (by close(), the server, or the end of the script)."),
	}
}

func apiEntries() []Entry {
	return []Entry{
		typ("api", "A node of the raw REST tree. An attribute or [item] appends a path segment (item segments are escaped); the methods send a request to the node's path and do not fail on HTTP errors."),
		method("api.get", "(params=None)", "Response", "GET the node's path with the query parameters in params."),
		method("api.post", "(json=None, params=None)", "Response", "POST json to the node's path."),
		method("api.put", "(json, params=None)", "Response", "PUT json to the node's path."),
		method("api.patch", "(json, params=None)", "Response", "PATCH the node's path with json."),
		method("api.delete", "(params=None)", "Response", "DELETE the node's path."),
		typ("Response", "A raw API response: .status_code, .headers (dict), .text, .json(); truthy when the status is below 400."),
		attr("Response.status_code", "int", "The HTTP status."),
		attr("Response.headers", "dict", "The response headers."),
		attr("Response.text", "str", "The response body."),
		method("Response.json", "()", "any", "The body decoded from JSON."),
	}
}

func libEntries() []Entry {
	return []Entry{
		module("json", "go.starlark.net's JSON module: encode, decode, indent, encode_indent."),
		fn("json.encode", "(x)", "str", "Encode x (None, bool, int, float, str, list, tuple, dict, or a value with to_dict-like attributes) as JSON."),
		fn("json.encode_indent", "(x, *, prefix=\"\", indent=\"\\t\")", "str", "Encode x as indented JSON."),
		fn("json.decode", "(x, default=unbound)", "any", "Decode the JSON string x; on invalid input return default when given, else fail."),
		fn("json.indent", "(str, *, prefix=\"\", indent=\"\\t\")", "str", "Re-indent a JSON string."),

		module("time", "go.starlark.net's time module (now, parse_time, parse_duration, time, durations) plus time.sleep."),
		fn("time.sleep", "(seconds)", "", "Pause for seconds (an int, float or time.duration). Cancellable: Ctrl-C (or the host cancelling the script) ends it at once with Cancelled."),
		fn("time.now", "()", "time", "The current time."),
		fn("time.time", "(year=0, month=0, day=0, hour=0, minute=0, second=0, nanosecond=0, location=\"UTC\")", "time", "The time with the given components."),
		fn("time.parse_time", "(x, format=\"2006-01-02T15:04:05Z07:00\", location=\"UTC\")", "time", "Parse the time string x with a Go layout."),
		fn("time.parse_duration", "(d)", "duration", "Parse a duration string such as \"1h30m\" or \"250ms\"."),
		fn("time.from_timestamp", "(sec, nsec=0)", "time", "The time sec seconds (plus nsec nanoseconds) after the Unix epoch."),
		fn("time.is_valid_timezone", "(loc)", "bool", "True when loc names a known time zone."),
		attr("time.nanosecond", "duration", "One nanosecond."),
		attr("time.microsecond", "duration", "One microsecond."),
		attr("time.millisecond", "duration", "One millisecond."),
		attr("time.second", "duration", "One second."),
		attr("time.minute", "duration", "One minute."),
		attr("time.hour", "duration", "One hour."),

		module("math", "go.starlark.net's math module: floating-point functions and constants."),
		fn("math.ceil", "(x)", "int", "The smallest integer ≥ x."),
		fn("math.floor", "(x)", "int", "The largest integer ≤ x."),
		fn("math.round", "(x)", "float", "x rounded to the nearest integer, halves away from zero."),
		fn("math.fabs", "(x)", "float", "The absolute value of x."),
		fn("math.copysign", "(x, y)", "float", "x with the sign of y."),
		fn("math.mod", "(x, y)", "float", "The floating-point remainder of x/y, with the sign of x."),
		fn("math.remainder", "(x, y)", "float", "The IEEE 754 remainder of x/y."),
		fn("math.pow", "(x, y)", "float", "x raised to the power y."),
		fn("math.exp", "(x)", "float", "e raised to the power x."),
		fn("math.sqrt", "(x)", "float", "The square root of x."),
		fn("math.log", "(x, base=e)", "float", "The logarithm of x in base."),
		fn("math.gamma", "(x)", "float", "The Gamma function of x."),
		fn("math.hypot", "(x, y)", "float", "sqrt(x*x + y*y)."),
		fn("math.sin", "(x)", "float", "The sine of x (radians)."),
		fn("math.cos", "(x)", "float", "The cosine of x (radians)."),
		fn("math.tan", "(x)", "float", "The tangent of x (radians)."),
		fn("math.asin", "(x)", "float", "The arc sine of x, in radians."),
		fn("math.acos", "(x)", "float", "The arc cosine of x, in radians."),
		fn("math.atan", "(x)", "float", "The arc tangent of x, in radians."),
		fn("math.atan2", "(y, x)", "float", "The arc tangent of y/x, in radians, using the signs of both."),
		fn("math.sinh", "(x)", "float", "The hyperbolic sine of x."),
		fn("math.cosh", "(x)", "float", "The hyperbolic cosine of x."),
		fn("math.tanh", "(x)", "float", "The hyperbolic tangent of x."),
		fn("math.asinh", "(x)", "float", "The inverse hyperbolic sine of x."),
		fn("math.acosh", "(x)", "float", "The inverse hyperbolic cosine of x."),
		fn("math.atanh", "(x)", "float", "The inverse hyperbolic tangent of x."),
		fn("math.degrees", "(x)", "float", "The radians x in degrees."),
		fn("math.radians", "(x)", "float", "The degrees x in radians."),
		attr("math.pi", "float", "π."),
		attr("math.e", "float", "Euler's number e."),
	}
}

func universeEntries() []Entry {
	return []Entry{
		fn("abs", "(x)", "int|float", "The absolute value of the number x."),
		fn("all", "(x)", "bool", "True when every element of the iterable x is truthy."),
		fn("any", "(x)", "bool", "True when some element of the iterable x is truthy."),
		fn("bool", "(x=False)", "bool", "The truth value of x."),
		fn("bytes", "(x)", "bytes", "Convert a str (UTF-8) or an iterable of byte values to bytes."),
		fn("chr", "(i)", "str", "The string of the Unicode code point i."),
		fn("dict", "(pairs=[], **kwargs)", "dict", "A new dict from a mapping or (key, value) pairs, plus keyword arguments."),
		fn("dir", "(x)", "[str]", "The names of x's attributes and methods."),
		fn("enumerate", "(x, start=0)", "list", "The (index, element) pairs of the iterable x."),
		fn("float", "(x)", "float", "Convert x (number or string) to a float."),
		fn("getattr", "(x, name, default=unbound)", "any", "The attribute name of x, or default when it has none."),
		fn("hasattr", "(x, name)", "bool", "True when x has an attribute name."),
		fn("hash", "(x)", "int", "The hash of the string or bytes x."),
		fn("int", "(x, base=10)", "int", "Convert x (number or string in base) to an integer."),
		fn("len", "(x)", "int", "The number of elements of x."),
		fn("list", "(x=[])", "list", "A new list of the elements of the iterable x."),
		fn("max", "(x, *args, key=None)", "any", "The largest argument, or element of the iterable x."),
		fn("min", "(x, *args, key=None)", "any", "The smallest argument, or element of the iterable x."),
		fn("ord", "(s)", "int", "The code point of the one-character string s."),
		fn("range", "(start_or_stop, stop=unbound, step=1)", "range", "An immutable sequence of integers."),
		fn("repr", "(x)", "str", "The string representation of x as the REPL prints it."),
		fn("reversed", "(x)", "list", "The elements of the iterable x in reverse order."),
		fn("set", "(x=[])", "set", "A new set of the elements of the iterable x."),
		fn("sorted", "(x, *, key=None, reverse=False)", "list", "A new sorted list of the elements of x."),
		fn("str", "(x)", "str", "Convert x to a string (strings are returned as is)."),
		fn("tuple", "(x=[])", "tuple", "A tuple of the elements of the iterable x."),
		fn("type", "(x)", "str", "The name of x's type, e.g. \"Instance\"."),
		fn("zip", "(*args)", "list", "Tuples of the corresponding elements of the iterables."),
	}
}

func backupEntries() []Entry {
	// Instance and volume backups share their methods; only the names
	// (and instance_only / volume_only) differ.
	backups := func(mgr, model, only, of string) []Entry {
		return join([]Entry{
			manager(mgr, "Manager of the backups of "+of+": all, get, exists, create."),
			method(mgr+".all", "()", "["+model+"]", "All backups of "+of+", in one request."),
			method(mgr+".get", "(name)", model, "The backup named name; fails with NotFound."),
			method(mgr+".exists", "(name)", "bool", "True when "+of+" has a backup named name."),
			method(mgr+".create", "(name=None, *, expires_at=None, "+only+"=False, optimized_storage=False, compression_algorithm=None, wait=False)", model,
				"Back up "+of+" as name. expires_at is an RFC 3339 time or a time.time; "+only+" leaves the snapshots out; optimized_storage uses the storage driver's own format (restorable only on a pool of that driver); compression_algorithm (\"gzip\", \"xz\", \"zstd\", \"none\"; API extension backup_compression_algorithm) overrides the server's backups.compression_algorithm. With a name the "+model+" comes back in both wait modes (with wait=False its .operation is pending); with name=None LXD picks it (backup0, …), and wait=False returns the Operation, whose wait() gives the "+model+"."),
			typ(model, "A backup of "+of+", kept on the server until deleted or expired. Fields: name, created_at, expires_at (writable; None when it never expires), "+only+", optimized_storage, and any other field LXD returns."),
			method(model+".export_to", "(path)", "", "Stream the backup's tarball to the host file path: written to a temporary file beside it and renamed into place only once complete, so a failed or interrupted export (Ctrl-C included) leaves no file, half-written or temporary; memory stays flat whatever the size. The tarball restores with create_from_backup on this server or another."),
			method(model+".rename", "(new_name, wait=False)", "", "Rename the backup; the object takes the new name once done."),
			method(model+".save", "(wait=False)", "", "Write expires_at to the server. LXD 5.0 and Incus 6.0 cannot change a backup once made: they answer 501 \"not implemented\", and save fails with LXDAPIException saying so (nothing is saved; give expires_at to create instead). Makes no request when the object is not dirty."),
		}, modelCommon(model, false, true))
	}
	return join(backups("backups", "Backup", "instance_only", "the instance"),
		backups("volume_backups", "StorageVolumeBackup", "volume_only", "the custom volume"), []Entry{
			manager("logs", "An instance's log files, by name (lxc.log, lxc.conf, exec output, …): all, get, delete."),
			method("logs.all", "()", "[str]", "The names of the instance's log files."),
			method("logs.get", "(name)", "str", "The content of the log file name."),
			method("logs.delete", "(name)", "", "Delete the log file name. LXD deletes only the files it does not write itself (exec output, migration and snapshot logs): lxc.log and lxc.conf fail with LXD's refusal."),
		})
}
