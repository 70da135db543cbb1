package id

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
)

const (
	// Bits is the width of an ID in bits.
	Bits = 160
	// Size is the width of an ID in bytes.
	Size = Bits / 8
	// Base is the radix of an ID's digits (Tapestry routes one hex digit per hop).
	Base = 16
	// Digits is the number of base-16 digits in an ID.
	Digits = Size * 2
)

// ErrSyntax is returned (wrapped) by Parse and UnmarshalText for input that
// is not exactly 40 hexadecimal digits.
var ErrSyntax = errors.New("id: invalid syntax")

// ID is a 160-bit identifier, big-endian: byte 0 holds the most significant
// bits. The zero value is the ID 0. IDs are comparable and usable as map keys.
type ID [Size]byte

// Zero is the ID 0.
var Zero ID

// String returns the ID as 40 lowercase hex digits.
func (x ID) String() string {
	return hex.EncodeToString(x[:])
}

// Short returns the first n hex digits, for logs. n is clamped to [0, 40].
func (x ID) Short(n int) string {
	n = max(0, min(n, Digits))
	return x.String()[:n]
}

// Parse reads 40 hex digits (either case). Any other input yields an error
// wrapping ErrSyntax; Parse never panics.
func Parse(s string) (ID, error) {
	var x ID
	if len(s) != Digits {
		return Zero, fmt.Errorf("id: parse %q: want %d hex digits, got %d: %w", trim(s), Digits, len(s), ErrSyntax)
	}
	if _, err := hex.Decode(x[:], []byte(s)); err != nil {
		return Zero, fmt.Errorf("id: parse %q: %w", trim(s), ErrSyntax)
	}
	return x, nil
}

// MustParse is Parse for constants in tests and tables; it panics on bad input.
func MustParse(s string) ID {
	x, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return x
}

// trim keeps error messages short when the input is huge.
func trim(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// FromBytes copies a 20-byte slice into an ID. Any other length yields an
// error wrapping ErrSyntax.
func FromBytes(b []byte) (ID, error) {
	var x ID
	if len(b) != Size {
		return Zero, fmt.Errorf("id: from %d bytes, want %d: %w", len(b), Size, ErrSyntax)
	}
	copy(x[:], b)
	return x, nil
}

// MarshalText implements encoding.TextMarshaler (40 lowercase hex digits).
func (x ID) MarshalText() ([]byte, error) {
	return []byte(x.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler, with Parse's rules.
func (x *ID) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*x = v
	return nil
}

// Digit returns base-16 digit i, where digit 0 is the most significant.
// It panics if i is outside [0, Digits): a digit index is computed by the
// caller, so a bad one is a broken invariant, like a slice index.
func (x ID) Digit(i int) int {
	if i < 0 || i >= Digits {
		panic(fmt.Sprintf("id: digit index %d out of range [0,%d)", i, Digits))
	}
	b := x[i/2]
	if i%2 == 0 {
		return int(b >> 4)
	}
	return int(b & 0x0f)
}

// WithDigit returns a copy of x with digit i set to d (0 ≤ d < 16). It panics
// on an out-of-range index or digit, like Digit.
func (x ID) WithDigit(i, d int) ID {
	if i < 0 || i >= Digits || d < 0 || d >= Base {
		panic(fmt.Sprintf("id: WithDigit(%d, %d) out of range", i, d))
	}
	if i%2 == 0 {
		x[i/2] = x[i/2]&0x0f | byte(d)<<4
	} else {
		x[i/2] = x[i/2]&0xf0 | byte(d)
	}
	return x
}

// SharedPrefixLen returns how many leading hex digits a and b share, from 0
// to Digits (Digits when a == b).
func SharedPrefixLen(a, b ID) int {
	for i := range Size {
		if a[i] != b[i] {
			if a[i]>>4 != b[i]>>4 {
				return 2 * i
			}
			return 2*i + 1
		}
	}
	return Digits
}

// Hash returns SHA-256 of data truncated to its first 160 bits: the overlay
// key of a block whose ref is that SHA-256.
func Hash(data []byte) ID {
	sum := sha256.Sum256(data)
	var x ID
	copy(x[:], sum[:Size])
	return x
}

// Random draws a uniformly random ID from r. Callers pass a seeded generator
// so that simulations replay exactly.
func Random(r *rand.Rand) ID {
	var x ID
	for i := 0; i < Size; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < Size; j++ {
			x[i+j] = byte(v >> (8 * j))
		}
	}
	return x
}

// Uint64 returns the id's first 8 bytes as a big-endian number: a word
// that tells ids apart, for seeding per-node randomness.
func (x ID) Uint64() uint64 { return binary.BigEndian.Uint64(x[:8]) }
