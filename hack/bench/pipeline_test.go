package main

import (
	"slices"
	"testing"
)

func TestParseBenchmark(t *testing.T) {
	out := "goos: linux\nBenchmarkLoadValidateRender500-2   \t      27\t  42430803 ns/op\t   5.91 MB/s\t28369228 B/op\t  322211 allocs/op\n" +
		"BenchmarkLoadValidateRender500-2   \t      30\t  40000000 ns/op\t   5.91 MB/s\t28000000 B/op\t  322000 allocs/op\nPASS\n"
	got, err := parseBenchmark(out, pipelineBenchmark)
	if err != nil {
		t.Fatal(err)
	}
	want := []pipelineResult{{NsPerOp: 42430803, BytesPerOp: 28369228, AllocsPerOp: 322211}, {NsPerOp: 40e6, BytesPerOp: 28e6, AllocsPerOp: 322000}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if _, err := parseBenchmark("PASS\n", pipelineBenchmark); err == nil {
		t.Fatal("no benchmark line parsed without an error")
	}
	if _, err := parseBenchmark("BenchmarkLoadValidateRender500-2 1 x ns/op 3 B/op\n", pipelineBenchmark); err == nil {
		t.Fatal("a malformed number parsed without an error")
	}
}
