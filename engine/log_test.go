package engine

import "testing"

func TestMask(t *testing.T) {
	tests := []struct{ id, want string }{
		{"", "…"},
		{"ABCD", "…"},
		{"ABCDE", "ABCD…"},
		{"CARD-0001-AAAA", "CARD…"},
		{"カードカードカード", "カードカ…"},
		{"カード", "…"},
	}
	for _, tt := range tests {
		if got := mask(tt.id); got != tt.want {
			t.Errorf("mask(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
}
