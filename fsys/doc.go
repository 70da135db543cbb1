// Package fsys gives file semantics over the metadata service and the block
// layer: chunking, hashing, copy-on-write versions.
//
// # Contents
//
// A file's contents are stored as immutable, content-addressed blocks (a
// block's ref is the SHA-256 of its bytes; see blockstore).
//
// Chunking (chunk.go). A Chunker cuts a byte stream into chunks with
// FastCDC (Xia et al., "FastCDC: a Fast and Efficient Content-Defined
// Chunking Approach for Data Deduplication", USENIX ATC 2016): a gear hash
// rolls over the bytes and a position where its top bits are zero ends a
// chunk. Chunks are 256 KiB to 4 MiB, about 1 MiB on average. Because cut
// points depend on the content around them and not on offsets, inserting,
// deleting or changing bytes changes only the chunks around the edit: the
// rest are found again, have the same refs, and are not stored again. The
// parameters and the gear table are part of the storage format (changing
// them would change every chunk's ref), so a test pins them. Chunking runs
// at over 1 GiB/s on one core, faster than SHA-256, which the block layer
// computes anyway.
//
// Manifests (manifest.go). A file version is a manifest block, and the
// version's id is that block's ref (for a small file held inline in the
// metadata, the ref that block would have; see below). A file of at most InlineLimit (4 KiB)
// bytes is held inside its manifest; a larger one's manifest is a leaf
// listing its chunks' refs and sizes; a file of more than DefaultFanout
// (4096) chunks, about 4 GiB, gets a tree: leaves of 4096 chunks under
// nodes of 4096 manifests, up to one root. Every manifest states the size
// it covers, so a reader finds the chunk at any offset by walking down, one
// block a level. The encoding is canonical and versioned, and its decoder
// strict: bytes decode only if they are exactly what the encoder writes.
//
// Writing and reading (content.go). WriteContent chunks a stream and puts
// the chunks, several at once while chunking goes on, then the manifests;
// the caller commits the root ref to the metadata service, so until then
// the new blocks are unreferenced and a failed write changes nothing.
// OpenContent reads a version: ReadAt fetches the chunks a range needs, a
// Reader streams with readahead. Since a version is named by the hash of
// its root and every block by the hash of its bytes, a reader sees exactly
// one whole version, never a mix of two, and a chunk whose length differs
// from its manifest's entry is reported as ErrCorrupt.
//
// # The file system (fs.go, file.go, iofs.go)
//
// FS joins the two: names and versions live in Meta (the metadata
// service: client.Meta over gRPC, or MetaState in one process), contents
// in Blocks. WriteFile streams a reader through WriteContent and then
// commits the root manifest's ref as the file's new version, so a failed
// write leaves the file as it was (its blocks, unreferenced, are garbage
// for a later collector).
//
// Small files are inline in the metadata. WriteFile reads up to
// InlineLimit+1 bytes first; a content of at most InlineLimit (4 KiB,
// meta.MaxInline) is committed with meta.CommitInline, its bytes in the
// version itself: one Raft command and no block put, where a block put
// (placement on the overlay, R remote stores) cost several times the
// commit. The version's ref is InlineRef(data), the SHA-256 of the inline
// manifest WriteContent would have stored, so a version id is the same
// content hash whichever way the bytes are kept. A reader opens such a
// version from the Stat that found it (Stat carries the data) and
// fetches nothing (InlineContent); an older version found through History,
// which leaves inline data out to stay small, is read whole with
// Meta.Version. A File's Sync and Close go the same way, and a writer
// that opens an inline file to change it loads the bytes from the Stat.
// Larger files are as before. The cost is in the metadata: each inline
// version keeps up to 4 KiB in every voter's memory, log and snapshots,
// which is what a block would have cost R storage nodes. A reader opens one version (its manifest ref)
// and reads it whole whatever is committed meanwhile: readers never see a
// mix. A File opened for writing buffers in an unlinked local file and
// commits on Sync or Close with a compare-and-swap from the version it
// opened (close-to-open consistency, as AFS and NFS give): the second of
// two racing writers gets meta.ErrConflict, with the winner's version, and
// commits nothing. AsOf is a read-only view of the whole tree at a time.
// IOFS is the read-only io/fs view; it passes testing/fstest.TestFS.
package fsys
