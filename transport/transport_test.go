package transport

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		to   Addr
		svc  Service
		n    int
		want error
	}{
		{"a", ServiceRaft, 10, nil},
		{"", ServiceRaft, 10, ErrBadAddr},
		{"a", 0, 10, ErrBadService},
		{"a", ServiceChord, 11, ErrTooLarge},
		{"a", ServiceChord, 0, nil},
	}
	for _, tt := range tests {
		err := Check(tt.to, tt.svc, make([]byte, tt.n), 10)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("Check(%q, %v, %d bytes) = %v, want %v", tt.to, tt.svc, tt.n, err, tt.want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "transport: ") {
			t.Errorf("error %q lacks package prefix", err)
		}
	}
}

func TestServiceString(t *testing.T) {
	for svc, want := range map[Service]string{ServiceRaft: "raft", ServiceTapestry: "tapestry", ServiceChord: "chord", ServiceBlock: "block", 200: "svc(200)"} {
		if got := svc.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", uint8(svc), got, want)
		}
	}
}

func TestMux(t *testing.T) {
	m := NewMux()
	var got []string
	m.Handle(ServiceRaft, func(from Addr, p []byte) { got = append(got, fmt.Sprintf("raft %s %s", from, p)) })
	m.Handle(ServiceChord, func(from Addr, p []byte) { got = append(got, fmt.Sprintf("chord %s %s", from, p)) })
	var h Handler = m.Deliver
	h("a", ServiceRaft, []byte("1"))
	h("b", ServiceChord, []byte("2"))
	h("c", ServiceTapestry, []byte("3"))
	m.Handle(ServiceChord, nil)
	h("d", ServiceChord, []byte("4"))
	want := []string{"raft a 1", "chord b 2"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("delivered %q, want %q", got, want)
	}
	if n := m.Unhandled(); n != 2 {
		t.Errorf("Unhandled() = %d, want 2", n)
	}
}

func TestCoordinates(t *testing.T) {
	c := Coordinates{Seed: 42, Min: time.Millisecond, Max: 100 * time.Millisecond}
	addrs := []Addr{"127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003", "n1", "n2", "n3"}
	var spread []time.Duration
	for _, a := range addrs {
		if d := c.Delay(a, a); d != c.Min {
			t.Errorf("Delay(%s, itself) = %v, want Min", a, d)
		}
		x, y := c.Position(a)
		if x < 0 || x >= 1 || y < 0 || y >= 1 {
			t.Errorf("Position(%s) = %v,%v outside unit square", a, x, y)
		}
		for _, b := range addrs {
			d := c.Delay(a, b)
			if d != c.Delay(b, a) {
				t.Errorf("Delay not symmetric for %s, %s", a, b)
			}
			if d < c.Min || d > c.Max {
				t.Errorf("Delay(%s, %s) = %v outside [Min, Max]", a, b, d)
			}
			if a != b {
				spread = append(spread, d)
			}
		}
	}
	distinct := map[time.Duration]bool{}
	for _, d := range spread {
		distinct[d] = true
	}
	if len(distinct) < 5 {
		t.Errorf("delays barely vary: %v", spread)
	}
	other := Coordinates{Seed: 43, Min: c.Min, Max: c.Max}
	if c.Delay("n1", "n2") == other.Delay("n1", "n2") {
		t.Errorf("seed does not change the layout")
	}
	if d := (Coordinates{}).Delay("a", "b"); d != 0 {
		t.Errorf("zero Coordinates delay = %v", d)
	}
	if d := FixedLatency(time.Second).Delay("a", "b"); d != time.Second {
		t.Errorf("FixedLatency = %v", d)
	}
}
