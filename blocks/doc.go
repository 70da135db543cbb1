// Package blocks is the data layer between nodes: it moves blocks over the
// network, places their replicas through the overlay, reads them from
// wherever they are, and keeps them replicated.
//
// # Protocol (wire.go, server.go, client.go)
//
// Server and Client speak a request/response protocol over
// transport.ServiceBlock, so the same code runs over grpcnet and memnet.
// Transport messages are one-way and best effort, so every request carries
// an id chosen by the client (from a random start, so that a restarted
// client does not collide with uploads a server still holds), and every
// reply names it. Handle installs one handler per Mux that sends requests
// to the Server and replies to the Client: a node is both.
//
// The encoding is by hand, not protobuf: nine message types of at most
// five fields, where a 1 MiB chunk should cost a few bytes of header and
// be copied once, not go through generated structs. Byte 0 is the type (high bit: reply),
// then a uvarint id and the fields (the table is in wire.go). The decoder
// checks every length against a limit before allocating (chunks 1 MiB,
// blocks blockstore.MaxBlockSize, 4096 refs per Has or Enumerate page, 512
// bytes of error text); malformed input is an ErrInvalid reply, never a
// panic (FuzzDecode).
//
//   - Store: the block goes in chunks of at most MaxChunk (1 MiB), each
//     carrying the ref and total size, in any order; duplicates are
//     ignored. The server reassembles them (partial uploads are bounded by
//     ServerConfig.MaxPendingBytes and dropped after UploadTimeout),
//     commits with blockstore.PutReader, which hashes as it reads, and
//     acks only once the store has made it durable.
//   - Fetch, whole or a range: answered in chunks of at most 1 MiB. A
//     whole fetch is verified by the receiver (Client.Fetch returns
//     ErrCorrupt for bytes that do not hash to the ref). A range cannot be
//     checked against the ref by the receiver; the server's store verifies
//     the whole block before answering, and Service never trusts a remote
//     range: it fetches the whole block.
//   - Has: many refs in one request, answered with a bitmap. Only the
//     durable store counts; cached copies are not replicas.
//   - Enumerate: pages of refs (with sizes) in increasing order after a
//     given ref.
//
// Errors cross the wire as a kind (NotFound, Corrupt, Invalid,
// Unavailable) and a message; the client wraps the matching sentinel
// (ErrNotFound, ...), so callers test with errors.Is. A call that gets no
// reply before its ctx ends is ErrUnavailable. A server works on at most
// MaxConcurrent requests and answers the rest Unavailable at once, rather
// than queueing behind the transport's goroutine.
//
// # Placement (service.go)
//
// A block's key in the overlay is the first 160 bits of its ref. Its
// holders are the overlay's Responsible nodes for that key (in Tapestry
// the roots of the key and its salted keys), at most R (Config.Replicas,
// default 3). In a small cluster salted roots coincide; then placement
// fills up, deterministically, first with the roots of derived keys whose
// first digit walks through all sixteen values (random derived keys do
// badly: surrogate routing can give a node only 3% of the key space), then
// from Config.Peers, by default the overlay's routing-table neighbours,
// nearest to the key by XOR first. Nodes with the same view of the
// membership compute the same holders, which is what lets the repair of
// any holder agree on who should have a copy. With fewer than R nodes in
// all, the block is stored on those there are and reported
// under-replicated (Status.UnderReplicatedPuts, Status.UnderReplicated);
// repair adds copies once nodes join. We chose that over failing the Put:
// a one- or two-node cluster is a legitimate development setup.
//
// Put stores on all holders in parallel and returns after W acks
// (Config.WriteQuorum, default R); the other stores continue in the
// background. Every holder publishes the key in the overlay after storing,
// from a queue served by the Service's goroutines, so the ack does not
// wait for the publish. A publish lost to a full queue is made by the
// next repair pass, which publishes every held block not yet announced.
//
// # Reads (get.go, cache.go)
//
// Get reads the local store, then the cache, then the holders Locate
// returns (nearest first), then the placement (which finds blocks whose
// publishes have not landed yet). One holder is asked at a time; the next
// is asked when one fails, or in addition when one has not answered within
// HedgeDelay (50ms): a hedged request, so a slow or dead holder costs
// about HedgeDelay rather than a timeout. Every remote block is verified
// before use. A verified remote block goes into an in-memory cache with a
// byte budget (Config.CacheBytes, LRU); the cached copy is published, so
// later readers nearby are sent to it, and unpublished when evicted. A
// local copy that fails verification is counted and the read is served
// remotely; reads never write to the durable store, the scrub repairs it.
//
// When no holder can be reached at all (right after holders die, routes
// through them are lost until the overlay detects the failure), Get
// tries again with backoff for up to RetryFor (15s); a NotFound or
// Corrupt answer from every holder asked is returned at once. Put
// retries the same way while the placement lookup fails.
//
// # Client service (admin.go, blockspb)
//
// Clients and the CLI reach a node's Service over gRPC (blocks/blockspb,
// served on the node's transport port): Put streams the block in pieces
// and returns its ref once W holders have it; Get streams it back (whole
// or a range) and Remote re-verifies whole blocks; Where reports the
// placement and the located holders with whether each holds the block;
// Status and Repair. Errors keep their kind across the wire (NotFound,
// Corrupt as DATA_LOSS, Invalid, Unavailable). node.StartStorage
// assembles a storage node from a disk store, Tapestry and the Service.
//
// # Repair (repair.go)
//
// Repair is one pass over the blocks held durably, run every
// RepairInterval by the Service's goroutine (or called directly):
//
//  1. scrub: every block is re-read and verified; a damaged one is fetched
//     from another holder and put again (blockstore.Disk rewrites a
//     block a read found damaged);
//  2. replicate: the placement is computed for each block, the refs are
//     grouped by holder, each holder is asked with one batched Has, and
//     what it lacks is stored to it. So when a holder dies and the overlay
//     names a replacement, the survivors copy the block there;
//  3. announce: held blocks not yet published are published.
//
// Status reports blocks and bytes held and cached, the blocks the last
// pass could not bring to R holders, repairs made and verify failures.
//
// # Not done yet
//
// Blocks are never deleted (no garbage collection, and a node that is no
// longer a holder keeps its copy). A pass reads every held block and
// computes every placement, so its cost grows with the blocks held; a big
// node would spread it over the interval and skip blocks verified
// recently. Duplicated store chunks that arrive after their upload
// completed start an upload that only expires.
package blocks
