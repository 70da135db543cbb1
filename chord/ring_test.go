package chord

import (
	"testing"

	"github.com/puddlestore/puddlestore/id"
)

func TestFingerTarget(t *testing.T) {
	max := id.MustParse("ffffffffffffffffffffffffffffffffffffffff")
	for _, c := range []struct {
		x    string
		i    int
		want string
	}{
		{"0000000000000000000000000000000000000000", 0, "0000000000000000000000000000000000000001"},
		{"0000000000000000000000000000000000000000", 159, "8000000000000000000000000000000000000000"},
		{"0000000000000000000000000000000000000001", 8, "0000000000000000000000000000000000000101"},
		{"8000000000000000000000000000000000000000", 159, "0000000000000000000000000000000000000000"},
		{"c000000000000000000000000000000000000000", 158, "0000000000000000000000000000000000000000"},
		{max.String(), 0, "0000000000000000000000000000000000000000"},
		{max.String(), 4, "000000000000000000000000000000000000000f"},
	} {
		if got := FingerTarget(id.MustParse(c.x), c.i); got.String() != c.want {
			t.Errorf("FingerTarget(%s, %d) = %s, want %s", c.x, c.i, got, c.want)
		}
	}
}

func TestWithinTwice(t *testing.T) {
	h := func(s string) id.ID { return id.MustParse(s) }
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"0000000000000000000000000000000000000002", "0000000000000000000000000000000000000001", true},
		{"0000000000000000000000000000000000000003", "0000000000000000000000000000000000000001", false},
		{"0000000000000000000000000000000000000000", "0000000000000000000000000000000000000000", true},
		{"ffffffffffffffffffffffffffffffffffffffff", "8000000000000000000000000000000000000000", true},
		{"ffffffffffffffffffffffffffffffffffffffff", "7fffffffffffffffffffffffffffffffffffffff", false},
	} {
		if got := withinTwice(h(c.a), h(c.b)); got != c.want {
			t.Errorf("withinTwice(%s, %s) = %v", c.a, c.b, got)
		}
	}
}

func TestCloser(t *testing.T) {
	x := id.MustParse("f000000000000000000000000000000000000000")
	a := id.MustParse("0100000000000000000000000000000000000000") // past the wrap
	b := id.MustParse("f100000000000000000000000000000000000000")
	if !closer(x, b, a) || closer(x, a, b) || closer(x, a, a) {
		t.Error("closer is wrong across the wrap")
	}
}
