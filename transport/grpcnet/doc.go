// Package grpcnet is the gRPC implementation of transport.Transport, the one
// real nodes use.
//
// Each Transport listens on one address and serves the Transport service of
// transport/transportpb. For every peer it sends to, it keeps two lanes,
// each a connection with one long-lived client stream fed by a bounded queue
// and one goroutine: payloads over BulkBytes go on the bulk lane, the rest on
// the control lane, so a megabyte of block data never delays a heartbeat or
// an overlay route to the same peer. Within a lane messages leave in Send
// order; across lanes they may be reordered, as on any network (the
// protocols above tolerate reordering; memnet reorders too). A slow or dead
// peer fills only its own queues (Send then drops and returns
// transport.ErrQueueFull), and a broken stream is reopened with exponential
// backoff. Messages in flight on a broken stream are lost, which the
// protocols above tolerate.
//
// An optional transport.LatencyModel delays each message on the sending side
// by the model's delay for that peer. Every peer has its own goroutine, so a
// far peer's delay never holds up a near one, and a delay adds latency
// without cutting throughput (each message waits until its own due time).
//
// Incoming messages are validated (sender address, service tag, size); a
// malformed envelope ends its stream with codes.InvalidArgument instead of
// reaching the handler. The handler is called from one goroutine per incoming
// stream, so calls for different senders may be concurrent.
//
// The sender's address travels in each envelope and is not authenticated;
// securing the transport (mTLS with node keys) is later work.
package grpcnet
