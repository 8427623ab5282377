package store

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestResponseExcerpt(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
	}{
		{"short", `{"ok":true}`, `{"ok":true}`},
		{"empty", "", ""},
		{"cut", strings.Repeat("a", 2000), strings.Repeat("a", MaxResponseBytes)},
		// 1023 ASCII bytes then a 2-byte character: the cut would split it.
		{"character split by the cut", strings.Repeat("a", 1023) + "é" + "tail", strings.Repeat("a", 1023)},
		{"invalid bytes", "ok\xffok", "ok\uFFFDok"},
		{"a run of invalid bytes", "a\xff\xfe\xfdb", "a\uFFFDb"},
		// Every invalid byte grows to 3: the result still fits.
		{"invalid bytes near the limit", strings.Repeat("\xffa", 600), strings.Repeat("\uFFFDa", MaxResponseBytes/4)},
	} {
		got := ResponseExcerpt([]byte(c.in))
		if got != c.want || len(got) > MaxResponseBytes || !utf8.ValidString(got) {
			t.Errorf("%s: ResponseExcerpt = %q (%d bytes), want %q", c.name, got, len(got), c.want)
		}
	}
}
