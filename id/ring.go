package id

import "fmt"

// Ring arithmetic for Chord (Stoica et al., "Chord: A Scalable Peer-to-peer
// Lookup Service", §4): IDs are points on a circle of 2^160, numbers wrap
// around, and "between" means walking clockwise (increasing) from the first
// point.

// Compare returns -1, 0 or +1 as a is less than, equal to or greater than b,
// reading both as unsigned 160-bit integers.
func Compare(a, b ID) int {
	for i := range Size {
		switch {
		case a[i] < b[i]:
			return -1
		case a[i] > b[i]:
			return 1
		}
	}
	return 0
}

// Less reports whether a < b as unsigned integers (not a ring order).
func Less(a, b ID) bool { return Compare(a, b) < 0 }

// Add returns a + b mod 2^160.
func Add(a, b ID) ID {
	var z ID
	carry := 0
	for i := Size - 1; i >= 0; i-- {
		s := int(a[i]) + int(b[i]) + carry
		z[i] = byte(s)
		carry = s >> 8
	}
	return z
}

// Sub returns a - b mod 2^160.
func Sub(a, b ID) ID {
	var z ID
	borrow := 0
	for i := Size - 1; i >= 0; i-- {
		d := int(a[i]) - int(b[i]) - borrow
		borrow = 0
		if d < 0 {
			d += 256
			borrow = 1
		}
		z[i] = byte(d)
	}
	return z
}

// Pow2 returns 2^k for 0 ≤ k < Bits; it panics otherwise (a broken invariant
// in the caller, like a bad slice index).
func Pow2(k int) ID {
	if k < 0 || k >= Bits {
		panic(fmt.Sprintf("id: Pow2(%d) out of range [0,%d)", k, Bits))
	}
	var z ID
	z[Size-1-k/8] = 1 << (k % 8)
	return z
}

// AddPow2 returns a + 2^k mod 2^160: the start of Chord's k-th finger
// interval (0-based) for node a.
func AddPow2(a ID, k int) ID { return Add(a, Pow2(k)) }

// Distance returns the clockwise distance from a to b: (b - a) mod 2^160.
// Distance(a, a) is 0; Distance(a, b) + Distance(b, a) is 0 mod 2^160.
func Distance(a, b ID) ID { return Sub(b, a) }

// Between reports whether x lies strictly inside the clockwise arc from a to
// b, the open interval (a, b). When a == b the arc is the whole ring but a, so
// Between(a, x, a) is x != a.
func Between(a, x, b ID) bool {
	if a == b {
		return x != a
	}
	dx := Distance(a, x)
	return dx != Zero && Less(dx, Distance(a, b))
}

// BetweenRightIncl reports whether x lies in the half-open arc (a, b]: the
// interval a Chord key must fall in for b to be its successor when a is b's
// predecessor. When a == b the arc is the whole ring.
func BetweenRightIncl(a, x, b ID) bool {
	if a == b {
		return true
	}
	return x == b || Between(a, x, b)
}

// BetweenLeftIncl reports whether x lies in the half-open arc [a, b). When
// a == b the arc is the whole ring.
func BetweenLeftIncl(a, x, b ID) bool {
	if a == b {
		return true
	}
	return x == a || Between(a, x, b)
}
