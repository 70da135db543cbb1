// Package blocks moves blocks between nodes and places their replicas.
//
// Server and Client speak a small request/response protocol over
// transport.ServiceBlock (see wire.go), so the same code runs over grpcnet
// and memnet.
package blocks
