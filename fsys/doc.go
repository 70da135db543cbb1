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
package fsys
