// Package blockstore is a node's local content-addressed block storage.
//
// A block is immutable and named by its Ref, the SHA-256 of its bytes.
// Store is the interface the block service and the replication layer use;
// Memory keeps blocks in process memory, Disk in pack files. Every
// implementation passes the suite in blockstore/storetest.
//
// # Disk: append-only pack files
//
// Many small blocks must not become one file each (a 4 KiB block per file
// costs an inode, a directory entry and two fsyncs, file plus directory,
// to make durable). Disk appends blocks to pack files, in the manner of
// Haystack's needles and SeaweedFS's volumes: the directory holds
// <seq>.pack files (16 hex digits), of which only the newest, the active
// pack, is written; it is sealed and a new one started once it passes
// Options.PackBytes (256 MiB). A pack is a sequence of records, each a
// 48-byte header (magic, kind, length, ref, CRC-32C of the header; see
// record.go) followed by the block's bytes. Delete appends a tombstone
// record, a header with no data. An in-memory index maps each live ref to
// its record (pack, offset, length), about 100 bytes per block.
//
// # Durability: group commit
//
// One committer goroutine owns the active pack. Put hashes its data in the
// caller's goroutine, hands the block over and waits; the committer takes
// every request that arrived while its previous fsync ran (up to 16 MiB),
// appends their records with one write (small blocks are copied into one
// buffer; large ones are written from the caller's slice), calls fdatasync
// once, and only then adds them to the index and acknowledges them all. So
// an acknowledged Put or Delete is durable, a block is never visible before
// it is, and concurrent writers share fsyncs. A new pack's directory entry
// is fsynced before anything in it is acknowledged. After a failed write or
// fsync the store refuses writes (ErrFailed; reads continue) until it is
// reopened, since what reached the disk is then unknown.
//
// # Recovery
//
// Open scans every pack's headers, oldest first, skipping data by length,
// and replays them: a later record for a ref replaces an earlier one. Only
// the active pack can hold records written since the last fsync, all of
// them from one batch, so at most 32 MiB at its end. There, a torn tail is
// cut off (truncated and fsynced): bytes after the last valid header, and
// records at the very end whose data does not hash to their ref (a header
// that reached the disk without all its data). A header that fails its
// checksum in the middle of a pack is skipped by searching for the next
// valid header, and logged (a block's bytes could contain what looks like a
// header; indexing such a phantom record is harmless, since its "block"
// is served only if it hashes to its ref). A record's data is never trusted from the scan:
// every Get hashes the bytes it read and returns ErrCorrupt (counted in
// Stats.VerifyFailures) rather than damaged bytes. A block a read found
// damaged is rewritten by the next Put of it, so a repairer that fetches a
// good copy from another replica just puts it (a Put of a block held and
// not known to be damaged is a no-op, as it must be cheap).
//
// # Reclaiming space
//
// Deleted and superseded records stay in their pack as dead bytes
// (Stats.DeadBytes). Compact rewrites the live records of sealed packs
// whose live fraction is low into the active pack, through the committer,
// and then removes those packs. A tombstone is carried forward only while
// an older pack still holds a dead record of its ref.
//
// # Why not pebble or bbolt
//
// Both are well-kept and were considered (STYLE.md names them). Blocks are
// up to 16 MiB, typically 1 MiB, never updated, and looked up only by ref:
// nothing needs ordered keys beyond Enumerate, which sorts the in-memory
// index. In an LSM (pebble) a 1 MiB value is written to the WAL, then to an
// L0 table, then rewritten by every compaction that moves it down a level:
// several times the write volume for data that never changes (WiscKey's
// key-value separation exists for exactly this; pebble's blob-file value
// separation is recent and an option). bbolt keeps values in a copy-on-write
// B+tree in one mmap'd file: each transaction fsyncs the modified pages and
// then the meta page, a 1 MiB value becomes overflow pages the freelist must
// find room for, and writers are serialized with no group commit across
// transactions. A pack file writes each block once, sequentially, with one
// fdatasync per batch of concurrent puts, and a read is one pread. What the
// packs give up (ordered iteration on disk, transactions across blocks) the
// block store does not need. bench/blockstore measures the result against
// this machine's raw sequential write+fdatasync rate and SHA-256 rate.
package blockstore
