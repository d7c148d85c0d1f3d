package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// pipelineResult is the Go benchmark of the manifest pipeline a sync runs
// first: load, validate, lint and render of a 500-service environment.
type pipelineResult struct {
	NsPerOp, BytesPerOp, AllocsPerOp float64
}

// pipelineBenchmark is the benchmark's name in internal/render.
const pipelineBenchmark = "BenchmarkLoadValidateRender500"

// pipelineBench runs that benchmark count times in its own process and
// reads each result.
func pipelineBench(ctx context.Context, count int) ([]pipelineResult, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "^"+pipelineBenchmark+"$",
		"-benchmem", "-benchtime", "3s", "-count", strconv.Itoa(count), "./internal/render")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go test -bench %s: %w\n%s", pipelineBenchmark, err, out.String())
	}
	res, err := parseBenchmark(out.String(), pipelineBenchmark)
	if err != nil {
		return nil, err
	}
	if len(res) != count {
		return nil, fmt.Errorf("%d results of %s, want %d:\n%s", len(res), pipelineBenchmark, count, out.String())
	}
	return res, nil
}

// parseBenchmark reads the `go test -bench -benchmem` lines of name, such
// as "BenchmarkX-2  30  41000000 ns/op  5.9 MB/s  28000000 B/op  321000 allocs/op".
func parseBenchmark(output, name string) ([]pipelineResult, error) {
	var out []pipelineResult
	sc := bufio.NewScanner(strings.NewReader(output))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || !strings.HasPrefix(fields[0], name) {
			continue
		}
		var res pipelineResult
		units := map[string]*float64{"ns/op": &res.NsPerOp, "B/op": &res.BytesPerOp, "allocs/op": &res.AllocsPerOp}
		for i := 2; i+1 < len(fields); i += 2 {
			if dst, ok := units[fields[i+1]]; ok {
				v, err := strconv.ParseFloat(fields[i], 64)
				if err != nil {
					return nil, fmt.Errorf("benchmark line %q: %w", sc.Text(), err)
				}
				*dst = v
			}
		}
		if res.NsPerOp == 0 || res.BytesPerOp == 0 {
			return nil, fmt.Errorf("benchmark line %q lacks ns/op or B/op", sc.Text())
		}
		out = append(out, res)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no %s line in the output:\n%s", name, output)
	}
	return out, nil
}
