// Package overlaypb holds the generated gRPC code of an overlay node's
// admin service (overlay.proto). Regenerate with `go generate
// ./overlay/overlaypb` (Debian's protoc and the protoc-gen-go and
// protoc-gen-go-grpc plugins, at the versions in the generated headers, on
// PATH). protoc runs from the repository root so that the file registers
// under its full path, overlay/overlaypb/overlay.proto.
package overlaypb

//go:generate protoc -I../.. --go_out=../.. --go_opt=paths=source_relative --go-grpc_out=../.. --go-grpc_opt=paths=source_relative overlay/overlaypb/overlay.proto
