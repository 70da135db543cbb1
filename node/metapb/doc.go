// Package metapb holds the generated gRPC code of the metadata service
// (meta.proto). Regenerate with `go generate ./node/metapb` (Debian's
// protoc and the protoc-gen-go and protoc-gen-go-grpc plugins on PATH).
// protoc runs from the repository root so that the file registers under
// its full path, node/metapb/meta.proto.
package metapb

//go:generate protoc -I../.. --go_out=../.. --go_opt=paths=source_relative --go-grpc_out=../.. --go-grpc_opt=paths=source_relative node/metapb/meta.proto
