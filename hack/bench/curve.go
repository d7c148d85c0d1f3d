package main

import (
	"fmt"
	"math"
	"strings"
)

// point is one size of the cost curve.
type point struct {
	services                 int
	runs                     int
	operator, kubectl, green float64 // seconds
	noopSync                 float64 // seconds
	noopRequests, statusP99  float64 // requests, ms
	peakRSS                  float64 // MiB
}

// curvePoints are the main size (medians of its runs) and each size of
// the curve (one run each), smallest first.
func curvePoints(results, curve []*runResult) []point {
	pointOf := func(rs []*runResult) point {
		get := func(f func(*runResult) float64) float64 { return medianOf(rs, f) }
		return point{
			services: rs[0].Services, runs: len(rs),
			operator:     get(func(r *runResult) float64 { return r.OperatorCold.Seconds() }),
			kubectl:      get(func(r *runResult) float64 { return r.KubectlCold.Seconds() }),
			green:        get(func(r *runResult) float64 { return r.OperatorGreen.Seconds() }),
			noopSync:     get(func(r *runResult) float64 { return r.Noop.Sync.Seconds() }),
			noopRequests: get(func(r *runResult) float64 { return r.Noop.Writes.Operator }),
			statusP99:    get(func(r *runResult) float64 { return ms(r.Status.P99.Seconds()) }),
			peakRSS:      get(func(r *runResult) float64 { return mib(r.PeakRSS) }),
		}
	}
	out := []point{pointOf(results)}
	for _, r := range curve {
		out = append(out, pointOf([]*runResult{r}))
	}
	return out
}

// curveTable is the cost curve as a Markdown table, with the goals of the
// largest size judged.
func curveTable(results, curve []*runResult) string {
	if len(curve) == 0 {
		return "No sizes beyond the main one were run (`--curve`).\n"
	}
	var b strings.Builder
	b.WriteString("| Services (objects) | Runs | Cold apply: operator | kubectl, one process | operator ÷ kubectl | Every service green | No-op sync | No-op API requests | `GET /status` p99 | Peak RSS | Peak RSS per service |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, p := range curvePoints(results, curve) {
		fmt.Fprintf(&b, "| %d (%d) | %d | %s | %s | %s | %s | %s | %s | %s | %s | %.1f KiB |\n",
			p.services, 4*p.services, p.runs, format(p.operator, "s"), format(p.kubectl, "s"), format(p.operator/p.kubectl, "x"),
			format(p.green, "s"), format(p.noopSync, "s"), format(p.noopRequests, "n"), format(p.statusP99, "ms"),
			format(p.peakRSS, "MiB"), p.peakRSS*1024/float64(p.services))
	}
	return b.String()
}

// curveGoals judges the largest size against the curve's goals.
func curveGoals(results, curve []*runResult) string {
	if len(curve) == 0 {
		return ""
	}
	ps := curvePoints(results, curve)
	last := ps[len(ps)-1]
	first := ps[0]
	growth := (last.operator / first.operator) / (float64(last.services) / float64(first.services))
	lines := []string{
		fmt.Sprintf("| Peak RSS at %d services | %s | ≤ 150 MiB | %s |", last.services, format(last.peakRSS, "MiB"), verdict("≤ 150", last.peakRSS)),
		fmt.Sprintf("| No-op sync at %d services | %s | ≤ 1 s | %s |", last.services, format(last.noopSync, "s"), verdict("≤ 1", last.noopSync)),
		fmt.Sprintf("| Cold apply growth, %d → %d services: time ratio ÷ size ratio (1 is linear) | %.2f | ≤ 1.2 | %s |",
			first.services, last.services, growth, verdict("≤ 1.2", growth)),
	}
	return "| Goal | Value | Target | Verdict |\n|---|---:|---|---|\n" + strings.Join(lines, "\n") + "\n"
}

// curveSVG draws time and memory against services: cold apply by the
// operator and by kubectl, every service green, and peak RSS.
func curveSVG(ps []point) string {
	const w, h, pad = 360.0, 240.0, 48.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`+"\n", 2*w+pad, h+pad)
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	maxN := 0.0
	for _, p := range ps {
		maxN = math.Max(maxN, float64(p.services))
	}
	type series struct {
		name, color string
		get         func(point) float64
	}
	chart := func(x0 float64, title, unit string, ss []series) {
		maxV := 0.0
		for _, s := range ss {
			for _, p := range ps {
				maxV = math.Max(maxV, s.get(p))
			}
		}
		maxV = niceCeil(maxV)
		left, top, width, height := x0+pad, 24.0, w-pad-8, h-40
		fmt.Fprintf(&b, `<text x="%.0f" y="14" font-weight="bold">%s</text>`+"\n", left, title)
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/>`+"\n", left, top+height, left+width, top+height)
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/>`+"\n", left, top, left, top+height)
		for i := 0; i <= 4; i++ {
			v := maxV * float64(i) / 4
			y := top + height - height*float64(i)/4
			fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="end">%g %s</text>`+"\n", left-4, y+4, v, unit)
			fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#ddd"/>`+"\n", left, y, left+width, y)
		}
		for _, p := range ps {
			x := left + width*float64(p.services)/maxN
			fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle">%d</text>`+"\n", x, top+height+14, p.services)
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle">services</text>`+"\n", left+width/2, top+height+28)
		for k, s := range ss {
			var pts []string
			for _, p := range ps {
				x := left + width*float64(p.services)/maxN
				y := top + height - height*s.get(p)/maxV
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", x, y, s.color)
			}
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), s.color)
			fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" fill="%s">%s</text>`+"\n", left+8, top+12+14*float64(k), s.color, s.name)
		}
	}
	chart(0, "Time", "s", []series{
		{"cold apply, operator", "#1f77b4", func(p point) float64 { return p.operator }},
		{"cold apply, kubectl (one process)", "#d62728", func(p point) float64 { return p.kubectl }},
		{"every service green, operator", "#2ca02c", func(p point) float64 { return p.green }},
	})
	chart(w, "Memory", "MiB", []series{
		{"operator peak RSS", "#9467bd", func(p point) float64 { return p.peakRSS }},
	})
	b.WriteString("</svg>\n")
	return b.String()
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}
