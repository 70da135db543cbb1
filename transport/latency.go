package transport

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"time"
)

// LatencyModel says how long a message takes from one address to another.
// Implementations must be deterministic and safe for concurrent use.
type LatencyModel interface {
	Delay(from, to Addr) time.Duration
}

// FixedLatency delays every message by the same amount.
type FixedLatency time.Duration

// Delay returns the fixed delay.
func (f FixedLatency) Delay(from, to Addr) time.Duration { return time.Duration(f) }

// Coordinates is a seeded synthetic-coordinate latency model, in the spirit
// of Vivaldi's coordinates: each address is hashed with Seed to a point in
// the unit square, and the delay between two addresses grows linearly with
// the distance between their points, from Min (same point) to Max (opposite
// corners). It makes "near" and "far" peers differ on loopback, so locality
// (Tapestry's nearby replicas, cached blocks) can be seen and measured.
// The zero value delays nothing.
type Coordinates struct {
	Seed uint64
	Min  time.Duration // delay between an address and itself
	Max  time.Duration // delay across the diagonal of the square
}

// Position returns addr's point in [0,1)², for reports and plots.
func (c Coordinates) Position(addr Addr) (x, y float64) {
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], c.Seed)
	h := sha256.New()
	h.Write(seed[:])
	h.Write([]byte(addr))
	sum := h.Sum(nil)
	const scale = 1 << 53
	x = float64(binary.BigEndian.Uint64(sum[0:8])>>11) / scale
	y = float64(binary.BigEndian.Uint64(sum[8:16])>>11) / scale
	return x, y
}

// Delay returns Min + (Max-Min) × distance/√2.
func (c Coordinates) Delay(from, to Addr) time.Duration {
	if c.Max <= c.Min {
		return c.Min
	}
	x1, y1 := c.Position(from)
	x2, y2 := c.Position(to)
	d := math.Hypot(x1-x2, y1-y2) / math.Sqrt2
	return c.Min + time.Duration(d*float64(c.Max-c.Min))
}

var (
	_ LatencyModel = FixedLatency(0)
	_ LatencyModel = Coordinates{}
)
