// Package transportpb holds the protobuf and gRPC definitions used by
// transport/grpcnet. The .pb.go files are generated; edit transport.proto and
// regenerate with Debian's protoc (package protobuf-compiler) and the plugins
// at the versions recorded in the generated headers:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
//	PATH=$PATH:$(go env GOPATH)/bin go generate ./transport/transportpb
package transportpb

//go:generate protoc -I../.. --go_out=../.. --go_opt=paths=source_relative --go-grpc_out=../.. --go-grpc_opt=paths=source_relative transport/transportpb/transport.proto
