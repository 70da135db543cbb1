// Package gateway serves a PuddleStore cluster over HTTP: a JSON and
// byte-stream API under /api/v1/, over the Go client library, and the web
// UI (package gateway/ui) everywhere else. A Gateway is an http.Handler:
//
//	c, _ := client.Dial(metaAddrs...)
//	gw, _ := gateway.New(gateway.Config{Client: c, Logger: log})
//	http.ListenAndServe(":8080", gw)
//
// This comment is the API's reference.
//
// # Paths
//
// A route's PATH is the rest of the URL path after its prefix, unescaped
// ("/api/v1/files/docs/a%20b.txt" names "/docs/a b.txt"); empty is the
// root. A trailing slash is allowed. A path with an empty, "." or ".."
// element, a NUL, a name over 255 bytes or a whole over the metadata's
// limit is refused with 400 (kind invalid) — never redirected to another
// name.
//
// # Query parameters
//
//	?at=T       read the tree as it was at T: an RFC 3339 time
//	            (2026-11-23T18:00:00Z), unix seconds (1795000000), or a
//	            duration meaning that long ago (5m, 2h30m)
//	?version=N  a file's version N (1 is the first)
//
// # Files
//
//	GET  /api/v1/files/PATH   (?version=N, ?at=T)
//	HEAD /api/v1/files/PATH
//
// A file: its content, streamed, 200 (206 for a Range). Headers:
//
//	ETag: "<version>-<first 16 hex digits of the version's ref>"
//	Last-Modified: the version's commit time
//	X-Puddle-Version: N
//	Accept-Ranges: bytes
//	Content-Type: from the extension, else sniffed from the first 512 bytes
//	X-Content-Type-Options: nosniff; Content-Security-Policy: sandbox
//
// Range (one range or several: multipart/byteranges; suffix ranges
// "bytes=-500"), If-Range, If-None-Match and If-Modified-Since are honoured
// as by http.ServeContent: 206, 416 for an unsatisfiable range (with
// Content-Range: bytes */SIZE), 304 Not Modified.
//
// A directory: its listing, JSON, entries sorted by name (?at honoured;
// ?version is 409 is_dir):
//
//	{"path":"/a","dir":true,"entries":[{"name":"b.txt","path":"/a/b.txt",
//	 "dir":false,"size":5,"version":2,"mtime":"2026-...Z","mode":"0644",
//	 "writer":"alice","versions":2}]}
//
// Times are RFC 3339 with nanoseconds, UTC; modes octal strings; a
// directory's writer is its owner, its version and size 0.
//
//	PUT /api/v1/files/PATH   body: the content, streamed
//
// Stores the body as a new version, making the missing directories above
// it (as `puddle put`). 201 Created (with Location) when the file is new,
// else 200; body (and ETag, X-Puddle-Version headers):
//
//	{"path":"/a/b.txt","version":2,"size":5,"time":"...","writer":"alice",
//	 "mode":"0644","etag":"\"2-0123456789abcdef\"","inline":true}
//
// Preconditions, checked before the body is read and held by the
// commit's compare-and-swap against racing writers:
//
//	If-Match: <etag>[, <etag>...] | *   the current version must be one of
//	                                    them: a compare-and-swap
//	If-None-Match: *                    create only: the file must not exist
//	If-None-Match: <etag>, ...          the current version must be none of them
//
// A failed one is 412, kind precondition_failed, with the current version
// (null/absent when the file does not exist) and its ETag header:
//
//	{"error":"...","kind":"precondition_failed","current":{"path":...,"version":3,...}}
//
// PUT to a directory (or the root) is 409 is_dir; under a file, 409
// not_dir; a body over Config.MaxUpload, 413 too_large. A failed upload
// leaves the file as it was.
//
//	DELETE /api/v1/files/PATH   (?recursive=1)
//
// Removes a file or an empty directory; with recursive=1 a directory and
// everything under it. 204. A non-empty directory without it: 409
// not_empty. History is kept: ?at before the removal still reads it.
//
// # Namespace and versions
//
//	POST /api/v1/mkdir/PATH          (?parents=1)  201, the new directory's stat
//	POST /api/v1/rename              body {"from":"/a","to":"/b"}  200, stat of /b
//	GET  /api/v1/stat/PATH           (?at=T)  200
//	GET  /api/v1/history/PATH        (?at=T)  200
//	POST /api/v1/restore/PATH?version=N       200, the new version
//
// A stat:
//
//	{"name":"b.txt","path":"/a/b.txt","dir":false,"size":5,"version":2,
//	 "mtime":"...","ctime":"...","mode":"0644","writer":"alice",
//	 "versions":2,"etag":"\"2-0123456789abcdef\""}
//
// (a directory has no etag). A history, oldest first:
//
//	{"path":"/a/b.txt","versions":[{"version":1,"size":5,"time":"...",
//	 "writer":"alice","mode":"0644","etag":"\"1-...\"","inline":true}, ...]}
//
// mkdir of an existing entry is 409 exists (with parents=1, an existing
// directory is fine); rename onto an existing path is 409 exists. restore
// makes version N the current content as a new version (history only
// grows); its reply is the shape of PUT's.
//
// # Cluster
//
//	GET /api/v1/cluster   every node's status (client.ClusterStatus)
//
//	{"meta":[{"addr","id","role","term","leader","commit","applied",
//	          "last_index","snapshot","error"}],
//	 "storage":[{"addr","id" (40 hex digits),"overlay","replicas","blocks",
//	             "bytes","cached_blocks","under_replicated","repairs",
//	             "verify_failures","passes","error"}],
//	 "registry":true,"under_replicated":0}
//
// "error" is present only for a node that did not answer. 503 unavailable
// when no metadata node answers.
//
//	GET /api/v1/overlay   each storage node's overlay state, asked concurrently
//
//	{"kind":"tapestry"|"chord","nodes":[{"addr","id","kind","state",
//	  "neighbours":[{"addr","id","rtt_ms"}],
//	  "table":[{"level","digit","entries":[{"addr","id","rtt_ms"}]}],   Tapestry
//	  "ring":{"self":{"addr","id"},"joined","predecessor":{"addr","id"}|null,
//	          "successors":[{"addr","id"}],"fingers":[{"index","addr","id"}]},   Chord
//	  "positions":[ring, ...],   Chord, when the node has several ring positions
//	  "error"}]}
//
// A node's neighbours are the distinct nodes it routes to: Tapestry's
// routing-table entries, Chord's predecessor, successors and fingers.
// rtt_ms is 0 when not measured (always, for Chord). A node that does not
// answer within Config.NodeTimeout has only addr and "error".
//
//	GET /api/v1/where/PATH   (?version=N, ?at=T)
//
// Where a file version's blocks are:
//
//	{"path","version","size","inline":false,"from":"<storage node asked>",
//	 "blocks":[{"ref","kind":"manifest"|"chunk","size",
//	            "placement":[{"addr","id","holds":true,"error"}],
//	            "located":[{"addr","id","holds"}],"error"}],
//	 "truncated":false,
//	 "route":{"key","from","hops":[{"addr","id"}],"error"}}
//
// Blocks are listed from the root manifest down, each manifest before the
// blocks it lists, at most 1024 ("truncated": true beyond). placement is
// the nodes that should hold a block, with whether each does; located,
// the holders the overlay finds, nearest first. route is the overlay route
// from the asked node to the first block's key (its ref's first 160 bits).
// An inline file (content held in the metadata) has "inline": true, no
// blocks and no route.
//
//	GET /api/v1/health   200 {"ok":true} when the metadata service answers,
//	                     else 503 {"ok":false,"error","kind":"unavailable"}
//
// # Errors
//
// Every error is JSON, {"error": "<message>", "kind": "<kind>"}:
//
//	400 invalid              bad path, query, version, or body
//	404 not_found            no such file, directory, version, or API route
//	405 method_not_allowed   (with Allow)
//	409 exists               already exists
//	409 conflict             another writer committed first
//	409 not_dir / is_dir     a path element is a file / a file operation on a directory
//	409 not_empty            directory not empty
//	412 precondition_failed  If-Match / If-None-Match does not hold (with "current")
//	413 too_large            body over the limit
//	423 locked               another holder's lease
//	503 unavailable          the cluster did not answer
//	500 internal             anything else (logged)
//
// # Metrics
//
// The gateway counts puddle_gateway_requests_total{route,method,code} and
// times puddle_gateway_request_seconds{route,method} on Config.Registry;
// route is the route's name (files, mkdir, rename, stat, history,
// restore, cluster, overlay, where, health, ui, unknown, invalid), never
// the request's path. Serving /metrics is the caller's.
package gateway
