package id

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

const (
	allF = "ffffffffffffffffffffffffffffffffffffffff"
	one  = "0000000000000000000000000000000000000001"
)

func TestParseString(t *testing.T) {
	tests := []struct {
		in      string
		want    string // "" means an error is expected
		wantErr bool
	}{
		{in: "0000000000000000000000000000000000000000", want: "0000000000000000000000000000000000000000"},
		{in: allF, want: allF},
		{in: "0123456789abcdef0123456789ABCDEF01234567", want: "0123456789abcdef0123456789abcdef01234567"},
		{in: "", wantErr: true},
		{in: "0", wantErr: true},
		{in: strings.Repeat("0", 39), wantErr: true},
		{in: strings.Repeat("0", 41), wantErr: true},
		{in: strings.Repeat("g", 40), wantErr: true},
		{in: "0x" + strings.Repeat("0", 38), wantErr: true},
		{in: strings.Repeat("0", 39) + " ", wantErr: true},
		{in: strings.Repeat("é", 20), wantErr: true},
		{in: strings.Repeat("a", 100000), wantErr: true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("Parse(%.50q) error = %v, want ErrSyntax", tt.in, err)
			}
			if got != Zero {
				t.Errorf("Parse(%.50q) = %v on error, want Zero", tt.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got.String() != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFromBytes(t *testing.T) {
	if _, err := FromBytes(make([]byte, 19)); !errors.Is(err, ErrSyntax) {
		t.Errorf("FromBytes(19 bytes) err = %v", err)
	}
	b := make([]byte, Size)
	b[0] = 0xab
	x, err := FromBytes(b)
	if err != nil || x.Digit(0) != 0xa || x.Digit(1) != 0xb {
		t.Errorf("FromBytes = %v, %v", x, err)
	}
}

func TestTextRoundTrip(t *testing.T) {
	seed := uint64(rand.Int64())
	r := rand.New(rand.NewPCG(seed, 0))
	for range 100 {
		x := Random(r)
		b, err := json.Marshal(map[string]ID{"k": x})
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]ID
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("seed %d: unmarshal %s: %v", seed, b, err)
		}
		if m["k"] != x {
			t.Fatalf("seed %d: round trip %v -> %v", seed, x, m["k"])
		}
	}
	var x ID
	if err := x.UnmarshalText([]byte("zz")); !errors.Is(err, ErrSyntax) {
		t.Errorf("UnmarshalText(zz) err = %v", err)
	}
}

func TestDigit(t *testing.T) {
	x := MustParse("0123456789abcdef0123456789abcdef01234567")
	want := "0123456789abcdef0123456789abcdef01234567"
	for i := range Digits {
		d := x.Digit(i)
		if "0123456789abcdef"[d] != want[i] {
			t.Errorf("Digit(%d) = %x, want %c", i, d, want[i])
		}
	}
	for _, i := range []int{-1, Digits} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Digit(%d) did not panic", i)
				}
			}()
			x.Digit(i)
		}()
	}
}

func TestWithDigit(t *testing.T) {
	tests := []struct {
		i, d int
		want string
	}{
		{0, 0xf, "f000000000000000000000000000000000000000"},
		{1, 0xa, "0a00000000000000000000000000000000000000"},
		{39, 1, one},
	}
	for _, tt := range tests {
		if got := Zero.WithDigit(tt.i, tt.d).String(); got != tt.want {
			t.Errorf("WithDigit(%d,%d) = %s, want %s", tt.i, tt.d, got, tt.want)
		}
	}
	if got := MustParse(allF).WithDigit(2, 0).String(); got != "ff0fffffffffffffffffffffffffffffffffffff" {
		t.Errorf("WithDigit keeps other nibble: %s", got)
	}
}

func TestSharedPrefixLen(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"0000000000000000000000000000000000000000", "0000000000000000000000000000000000000000", 40},
		{"0000000000000000000000000000000000000000", "8000000000000000000000000000000000000000", 0},
		{"a000000000000000000000000000000000000000", "a100000000000000000000000000000000000000", 1},
		{"ab00000000000000000000000000000000000000", "ab10000000000000000000000000000000000000", 2},
		{"abc0000000000000000000000000000000000000", "abc1000000000000000000000000000000000000", 3},
		{allF, "fffffffffffffffffffffffffffffffffffffffe", 39},
		{allF, "ffffffffffffffffffffffffffffffffffffffef", 38},
	}
	for _, tt := range tests {
		a, b := MustParse(tt.a), MustParse(tt.b)
		if got := SharedPrefixLen(a, b); got != tt.want {
			t.Errorf("SharedPrefixLen(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := SharedPrefixLen(b, a); got != tt.want {
			t.Errorf("SharedPrefixLen not symmetric for %s, %s", tt.a, tt.b)
		}
	}
}

func TestHash(t *testing.T) {
	// SHA-256("") = e3b0c442 98fc1c14 9afbf4c8 996fb924 27ae41e4 649b934c a495991b 7852b855.
	if got, want := Hash(nil).String(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4"; got != want {
		t.Errorf("Hash(nil) = %s, want %s", got, want)
	}
	// SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad.
	if got, want := Hash([]byte("abc")).String(), "ba7816bf8f01cfea414140de5dae2223b00361a3"; got != want {
		t.Errorf("Hash(abc) = %s, want %s", got, want)
	}
}

func TestRandomDeterministic(t *testing.T) {
	a := rand.New(rand.NewPCG(7, 7))
	b := rand.New(rand.NewPCG(7, 7))
	seen := map[ID]bool{}
	for range 1000 {
		x, y := Random(a), Random(b)
		if x != y {
			t.Fatalf("same seed, different ids: %v %v", x, y)
		}
		if seen[x] {
			t.Fatalf("duplicate random id %v", x)
		}
		seen[x] = true
	}
}

func TestShort(t *testing.T) {
	x := MustParse("0123456789abcdef0123456789abcdef01234567")
	for _, tt := range []struct {
		n    int
		want string
	}{{-1, ""}, {0, ""}, {4, "0123"}, {99, x.String()}} {
		if got := x.Short(tt.n); got != tt.want {
			t.Errorf("Short(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
