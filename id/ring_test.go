package id

import (
	"math/big"
	"math/rand/v2"
	"testing"
)

var modulus = new(big.Int).Lsh(big.NewInt(1), Bits)

func toBig(x ID) *big.Int { return new(big.Int).SetBytes(x[:]) }

func fromBig(v *big.Int) ID {
	v = new(big.Int).Mod(v, modulus)
	var x ID
	v.FillBytes(x[:])
	return x
}

func TestAddSubTable(t *testing.T) {
	max := MustParse(allF)
	o := MustParse(one)
	tests := []struct {
		name      string
		a, b      ID
		sum, diff ID
	}{
		{"zero", Zero, Zero, Zero, Zero},
		{"wrap add", max, o, Zero, MustParse("fffffffffffffffffffffffffffffffffffffffe")},
		{"wrap sub", Zero, o, o, max},
		{"carry chain", MustParse("00000000000000000000000000000000000000ff"), o,
			MustParse("0000000000000000000000000000000000000100"),
			MustParse("00000000000000000000000000000000000000fe")},
	}
	for _, tt := range tests {
		if got := Add(tt.a, tt.b); got != tt.sum {
			t.Errorf("%s: Add = %v, want %v", tt.name, got, tt.sum)
		}
		if got := Sub(tt.a, tt.b); got != tt.diff {
			t.Errorf("%s: Sub = %v, want %v", tt.name, got, tt.diff)
		}
	}
}

// TestArithmeticAgainstBig checks Add, Sub, Distance, Compare and Between
// against math/big on random inputs.
func TestArithmeticAgainstBig(t *testing.T) {
	seed := uint64(rand.Int64())
	r := rand.New(rand.NewPCG(seed, 1))
	for range 2000 {
		a, b, x := Random(r), Random(r), Random(r)
		if r.IntN(4) == 0 {
			x = a // exercise the endpoints
		} else if r.IntN(4) == 0 {
			x = b
		}
		ab, bb, xb := toBig(a), toBig(b), toBig(x)
		if got, want := Add(a, b), fromBig(new(big.Int).Add(ab, bb)); got != want {
			t.Fatalf("seed %d: Add(%v,%v) = %v, want %v", seed, a, b, got, want)
		}
		if got, want := Sub(a, b), fromBig(new(big.Int).Sub(ab, bb)); got != want {
			t.Fatalf("seed %d: Sub(%v,%v) = %v, want %v", seed, a, b, got, want)
		}
		if got, want := Compare(a, b), ab.Cmp(bb); got != want {
			t.Fatalf("seed %d: Compare(%v,%v) = %d, want %d", seed, a, b, got, want)
		}
		// Reference: x in (a,b) iff 0 < (x-a) mod N < (b-a) mod N, or a==b and x!=a.
		dx := new(big.Int).Mod(new(big.Int).Sub(xb, ab), modulus)
		db := new(big.Int).Mod(new(big.Int).Sub(bb, ab), modulus)
		want := dx.Sign() > 0 && dx.Cmp(db) < 0
		if a == b {
			want = x != a
		}
		if got := Between(a, x, b); got != want {
			t.Fatalf("seed %d: Between(%v,%v,%v) = %v, want %v", seed, a, x, b, got, want)
		}
	}
}

func TestBetween(t *testing.T) {
	n := func(v int64) ID { return fromBig(big.NewInt(v)) }
	max := MustParse(allF)
	tests := []struct {
		a, x, b               ID
		open, right, leftIncl bool
	}{
		{n(1), n(2), n(3), true, true, true},
		{n(1), n(1), n(3), false, false, true},
		{n(1), n(3), n(3), false, true, false},
		{n(1), n(4), n(3), false, false, false},
		{n(3), n(4), n(1), true, true, true}, // wraps through zero
		{n(3), n(0), n(1), true, true, true},
		{n(3), max, n(1), true, true, true},
		{n(3), n(2), n(1), false, false, false},
		{n(5), n(5), n(5), false, true, true}, // a == b: whole ring
		{n(5), n(6), n(5), true, true, true},
		{max, Zero, n(1), true, true, true},
	}
	for _, tt := range tests {
		if got := Between(tt.a, tt.x, tt.b); got != tt.open {
			t.Errorf("Between(%v, %v, %v) = %v, want %v", tt.a.Short(4), tt.x.Short(4), tt.b.Short(4), got, tt.open)
		}
		if got := BetweenRightIncl(tt.a, tt.x, tt.b); got != tt.right {
			t.Errorf("BetweenRightIncl(%v, %v, %v) = %v, want %v", tt.a, tt.x, tt.b, got, tt.right)
		}
		if got := BetweenLeftIncl(tt.a, tt.x, tt.b); got != tt.leftIncl {
			t.Errorf("BetweenLeftIncl(%v, %v, %v) = %v, want %v", tt.a, tt.x, tt.b, got, tt.leftIncl)
		}
	}
}

func TestPow2AndDistance(t *testing.T) {
	for k := range Bits {
		want := fromBig(new(big.Int).Lsh(big.NewInt(1), uint(k)))
		if got := Pow2(k); got != want {
			t.Errorf("Pow2(%d) = %v, want %v", k, got, want)
		}
	}
	max := MustParse(allF)
	if got := AddPow2(max, 0); got != Zero {
		t.Errorf("AddPow2(max, 0) = %v, want 0", got)
	}
	if got := Distance(max, MustParse(one)); got != fromBig(big.NewInt(2)) {
		t.Errorf("Distance(max, 1) = %v, want 2", got)
	}
	if got := Distance(MustParse(one), max); got != MustParse("fffffffffffffffffffffffffffffffffffffffe") {
		t.Errorf("Distance(1, max) = %v", got)
	}
	for _, k := range []int{-1, Bits} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Pow2(%d) did not panic", k)
				}
			}()
			Pow2(k)
		}()
	}
}
