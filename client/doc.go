// Package client is PuddleStore's Go client library.
//
// Meta (meta.go) is the client of the metadata service (node/metapb): the
// namespace and versions of the file system, replicated by Raft. It
// finds the leader itself (node/follow), follows leader hints, and
// retries what is safe to retry; every command is exactly-once through a
// session id and sequence number that retries reuse. Errors of the file
// system come back as *meta.Error, so errors.Is(err, meta.ErrNotExist),
// meta.ErrConflict and the others hold on the client as on the server.
package client
