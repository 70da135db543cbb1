// Package blockspb holds the generated gRPC code of a storage node's block
// service (blocks.proto), for clients and the puddle CLI. Regenerate with
// `go generate ./blocks/blockspb` (Debian's protoc and the protoc-gen-go
// and protoc-gen-go-grpc plugins, at the versions in the generated headers,
// on PATH). protoc runs from the repository root so that the file
// registers under its full path, blocks/blockspb/blocks.proto.
package blockspb

//go:generate protoc -I../.. --go_out=../.. --go_opt=paths=source_relative --go-grpc_out=../.. --go-grpc_opt=paths=source_relative blocks/blockspb/blocks.proto
