// Package kvpb holds the generated gRPC code of the key-value front
// (kv.proto). Regenerate with `go generate ./node/kvpb` (Debian's protoc and
// the protoc-gen-go and protoc-gen-go-grpc plugins on PATH). protoc runs
// from the repository root so that the file registers under its full path,
// node/kvpb/kv.proto, and cannot clash with another package's kv.proto
// (etcd's mvccpb has one) in a binary that links both.
package kvpb

//go:generate protoc -I../.. --go_out=../.. --go_opt=paths=source_relative --go-grpc_out=../.. --go-grpc_opt=paths=source_relative node/kvpb/kv.proto
