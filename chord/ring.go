package chord

import "github.com/puddlestore/puddlestore/id"

// Ring helpers beyond package id's arithmetic.

// FingerTarget returns the start of finger i's interval for node x,
// x + 2^i mod 2^160 (§4.2, Table 1, with 0-based i): finger i is the
// successor of this point.
func FingerTarget(x id.ID, i int) id.ID { return id.AddPow2(x, i) }

// double returns 2d and whether it overflowed 2^160 (then 2d exceeds any
// distance on the ring).
func double(d id.ID) (id.ID, bool) { return id.Add(d, d), d[0]&0x80 != 0 }

// withinTwice reports whether distance a is at most twice distance b.
func withinTwice(a, b id.ID) bool {
	b2, over := double(b)
	return over || id.Compare(a, b2) <= 0
}

// closer reports whether a lies nearer than b going clockwise from x.
func closer(x, a, b id.ID) bool { return id.Less(id.Distance(x, a), id.Distance(x, b)) }
