package blockstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// MaxBlockSize is the largest block a Store accepts, in bytes.
const MaxBlockSize = 16 << 20

var (
	// ErrNotFound: the store holds no block with that ref.
	ErrNotFound = errors.New("blockstore: block not found")
	// ErrCorrupt: the stored bytes do not hash to the block's ref. The
	// bytes are never returned; the block should be repaired from a replica.
	ErrCorrupt = errors.New("blockstore: block corrupt")
	// ErrInvalid: bad input (data that does not hash to its ref, a block
	// larger than MaxBlockSize, a range outside the block, a malformed ref).
	ErrInvalid = errors.New("blockstore: invalid argument")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("blockstore: closed")
	// ErrFailed: a write or fsync failed, so what reached the disk is
	// unknown; the store refuses further writes (reads still work) until it
	// is reopened, which recovers exactly what is on disk.
	ErrFailed = errors.New("blockstore: write failed; reopen the store")
)

// Ref names a block: the SHA-256 of its bytes.
type Ref [32]byte

// RefOf returns the ref of data.
func RefOf(data []byte) Ref { return sha256.Sum256(data) }

// String returns the ref as 64 lower-case hex digits.
func (r Ref) String() string { return hex.EncodeToString(r[:]) }

// ParseRef parses 64 hex digits.
func ParseRef(s string) (Ref, error) {
	var r Ref
	if len(s) != 2*len(r) {
		return r, fmt.Errorf("%w: ref %q: want %d hex digits", ErrInvalid, s, 2*len(r))
	}
	if _, err := hex.Decode(r[:], []byte(s)); err != nil {
		return r, fmt.Errorf("%w: ref %q: %v", ErrInvalid, s, err)
	}
	return r, nil
}

// Store is a node's local content-addressed block storage. Blocks are
// immutable and named by their Ref; every method is safe for concurrent use.
type Store interface {
	// Put stores data under ref. It fails with ErrInvalid if data does not
	// hash to ref or is larger than MaxBlockSize. When it returns nil the
	// block is durable. Putting a block already held is a no-op.
	Put(ctx context.Context, ref Ref, data []byte) error
	// PutReader stores the size bytes read from r under ref, hashing them as
	// they are read. If they do not hash to ref, or r ends early, nothing is
	// stored and the error wraps ErrInvalid (or r's error).
	PutReader(ctx context.Context, ref Ref, r io.Reader, size int64) error
	// Get returns the block's bytes, verified against ref: ErrNotFound if
	// absent, ErrCorrupt if the stored bytes are damaged.
	Get(ctx context.Context, ref Ref) ([]byte, error)
	// GetRange verifies the whole block and returns up to n bytes from off
	// (fewer at the block's end). It requires 0 <= off <= size and n >= 0,
	// else ErrInvalid.
	GetRange(ctx context.Context, ref Ref, off, n int64) ([]byte, error)
	// Has reports whether the store holds ref (without verifying it).
	Has(ctx context.Context, ref Ref) (bool, error)
	// Size returns the block's length in bytes, or ErrNotFound.
	Size(ctx context.Context, ref Ref) (int64, error)
	// Delete removes the block; when it returns nil the removal is durable.
	// Deleting a block the store does not hold is not an error.
	Delete(ctx context.Context, ref Ref) error
	// Enumerate calls fn for every block once, in increasing ref order, as
	// of the call (blocks put or deleted meanwhile may or may not be seen).
	// An error from fn stops it and is returned. fn may call the store.
	Enumerate(ctx context.Context, fn func(ref Ref, size int64) error) error
	// Stats returns counters describing the store.
	Stats() Stats
	// Close releases the store; later calls return ErrClosed. Calls in
	// progress finish first. Closing twice is a no-op.
	Close() error
}

// Stats describes a store.
type Stats struct {
	Blocks         int64 // blocks held
	Bytes          int64 // their total size
	VerifyFailures int64 // reads that found a block's bytes damaged
	Packs          int   // pack files (0 for in-memory stores)
	DeadBytes      int64 // pack bytes no longer needed (deleted, duplicate or torn records, headers of tombstones), reclaimable by Compact
}

// checkPut validates a Put's arguments.
func checkPut(ref Ref, data []byte) error {
	if len(data) > MaxBlockSize {
		return fmt.Errorf("%w: put %s: %d bytes exceeds MaxBlockSize", ErrInvalid, ref, len(data))
	}
	if RefOf(data) != ref {
		return fmt.Errorf("%w: put %s: data hashes to %s", ErrInvalid, ref, RefOf(data))
	}
	return nil
}

// readVerified reads exactly size bytes from r, checking that they hash to
// ref: the shared half of PutReader. It reads into one buffer rather than
// streaming into a pack so that a slow reader never holds the pack's tail
// (other puts would wait behind it); memory is bounded by MaxBlockSize.
func readVerified(ref Ref, r io.Reader, size int64) ([]byte, error) {
	if size < 0 || size > MaxBlockSize {
		return nil, fmt.Errorf("%w: put %s: size %d", ErrInvalid, ref, size)
	}
	data := make([]byte, size)
	h := sha256.New()
	if _, err := io.ReadFull(io.TeeReader(r, h), data); err != nil {
		return nil, fmt.Errorf("blockstore: put %s: reading %d bytes: %w", ref, size, err)
	}
	if Ref(h.Sum(nil)) != ref {
		return nil, fmt.Errorf("%w: put %s: data hashes to %x", ErrInvalid, ref, h.Sum(nil))
	}
	return data, nil
}

// checkRange validates a GetRange and returns the slice of data it names.
func checkRange(ref Ref, data []byte, off, n int64) ([]byte, error) {
	size := int64(len(data))
	if off < 0 || n < 0 || off > size {
		return nil, fmt.Errorf("%w: range %d+%d of %s (%d bytes)", ErrInvalid, off, n, ref, size)
	}
	end := size
	if n < size-off {
		end = off + n
	}
	return data[off:end], nil
}
