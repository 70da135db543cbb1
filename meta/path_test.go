package meta

import (
	"errors"
	"strings"
	"testing"
)

func TestCleanPath(t *testing.T) {
	long := strings.Repeat("x", MaxName)
	deep := strings.Repeat("/"+long, 15) + "/" + strings.Repeat("y", 200) // 4041 bytes
	full := deep + "/" + strings.Repeat("z", MaxPath-len(deep)-1)         // 4096 bytes
	tests := []struct {
		in, want string // want "" means Invalid
	}{
		{"/", "/"},
		{"/a", "/a"},
		{"/a/b/c", "/a/b/c"},
		{"/a/b/", "/a/b"}, // one trailing slash is dropped
		{"/a/", "/a"},
		{"/a b/ü/.hidden/..x/x..", "/a b/ü/.hidden/..x/x.."},
		{"/" + long, "/" + long},
		{deep, deep},
		{full, full},
		{full + "/", full},
		{"", ""},
		{"a", ""},
		{"a/b", ""},
		{"./a", ""},
		{"//", ""},
		{"/a//b", ""},
		{"//a", ""},
		{"/a//", ""},
		{"/.", ""},
		{"/..", ""},
		{"/a/./b", ""},
		{"/a/../b", ""},
		{"/a/..", ""},
		{"/a/.", ""},
		{"/a/./", ""},
		{"/a\x00b", ""},
		{"/\x00", ""},
		{"/" + long + "x", ""},
		{full + "z", ""}, // 4097 bytes
		{full + "z/", ""},
	}
	for _, tt := range tests {
		got, err := CleanPath(tt.in)
		name := tt.in
		if len(name) > 40 {
			name = name[:40] + "..."
		}
		if tt.want == "" {
			if err == nil || !errors.Is(err, ErrInvalid) || KindOf(err) != KindInvalid {
				t.Errorf("CleanPath(%q) = %q, %v; want an Invalid error", name, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CleanPath(%q) = %q, %v; want %q", name, got, err, tt.want)
		}
		// Clean paths are fixed points.
		if again, err := CleanPath(got); err != nil || again != got {
			t.Errorf("CleanPath(CleanPath(%q)) = %q, %v", name, again, err)
		}
	}
}

func TestSplitUnder(t *testing.T) {
	for _, tt := range []struct{ p, dir, name string }{
		{"/a", "/", "a"}, {"/a/b", "/a", "b"}, {"/a/b/c", "/a/b", "c"},
	} {
		if d, n := split(tt.p); d != tt.dir || n != tt.name {
			t.Errorf("split(%q) = %q, %q", tt.p, d, n)
		}
	}
	for _, tt := range []struct {
		p, root string
		want    bool
	}{
		{"/a", "/a", true}, {"/a/b", "/a", true}, {"/ab", "/a", false}, {"/a", "/a/b", false},
		{"/x", "/", true}, {"/", "/", true}, {"/b", "/a", false},
	} {
		if got := under(tt.p, tt.root); got != tt.want {
			t.Errorf("under(%q, %q) = %v", tt.p, tt.root, got)
		}
	}
}

func TestErrorKinds(t *testing.T) {
	for k := KindNotExist; k < kindEnd; k++ {
		e := &Error{Op: "stat", Kind: k, Path: "/a", Msg: "why"}
		if !errors.Is(e, k.Err()) || KindOf(e) != k || KindOf(k.Err()) != k {
			t.Errorf("kind %v: Is/KindOf do not match", k)
		}
		for j := KindNotExist; j < kindEnd; j++ {
			if j != k && errors.Is(e, j.Err()) {
				t.Errorf("kind %v matches %v", k, j)
			}
		}
		wrapped := errors.Join(errors.New("context"), e)
		if KindOf(wrapped) != k {
			t.Errorf("KindOf(wrapped %v) = %v", k, KindOf(wrapped))
		}
	}
	if KindOf(nil) != 0 || KindOf(errors.New("x")) != 0 || Kind(0).Err() != nil || Kind(200).String() != "Kind(200)" {
		t.Error("non-meta errors have kinds")
	}
	e := &Error{Op: "commit", Kind: KindConflict, Path: "/a/f", Msg: "expected version 2, current version is 3"}
	if got, want := e.Error(), "meta: commit /a/f: version conflict: expected version 2, current version is 3"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
