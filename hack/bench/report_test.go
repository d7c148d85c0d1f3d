package main

import (
	"math"
	"testing"
)

func TestVerdict(t *testing.T) {
	for _, tt := range []struct {
		target string
		v      float64
		want   string
	}{
		{"< 50 ms", 49.3, "PASS"},
		{"< 50 ms", 50, "MISS"},
		{"≤ 0.5", 0.5, "PASS"},
		{"≤ 0.5", 0.77, "MISS"},
		{"0", 0, "PASS"},
		{"0", 1, "MISS"},
		{"800", 800, "PASS"},
		{"800", 799, "MISS"},
		{"< 100 MiB", 94.2, "PASS"},
		{"", 3, ""},
		{"< 50 ms", math.NaN(), "MISS"},
	} {
		if got := verdict(tt.target, tt.v); got != tt.want {
			t.Errorf("verdict(%q, %v) = %q, want %q", tt.target, tt.v, got, tt.want)
		}
	}
}
