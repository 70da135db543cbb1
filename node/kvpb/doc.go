// Package kvpb holds the generated gRPC code of the key-value front
// (kv.proto). Regenerate with `go generate ./node/kvpb` (Debian's protoc and
// the protoc-gen-go and protoc-gen-go-grpc plugins on PATH).
package kvpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative kv.proto
