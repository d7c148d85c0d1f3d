package apply

import (
	"fmt"
	"io"
	"strings"
)

// Bounds of the line diff: larger inputs are shown as replaced whole.
const (
	diffContext  = 3
	maxDiffCells = 4 << 20
)

// lineEdit is one line of a line diff: ' ' kept, '-' removed, '+' added.
type lineEdit struct {
	op   byte
	line string
}

// diffLines returns the edits that turn a into b, from a longest common
// subsequence of lines.
func diffLines(a, b []string) []lineEdit {
	n, m := len(a), len(b)
	if (n+1)*(m+1) > maxDiffCells {
		out := make([]lineEdit, 0, n+m)
		for _, l := range a {
			out = append(out, lineEdit{'-', l})
		}
		for _, l := range b {
			out = append(out, lineEdit{'+', l})
		}
		return out
	}
	// lcs[i][j] is the length of the LCS of a[i:] and b[j:].
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []lineEdit
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			out = append(out, lineEdit{' ', a[i]})
			i, j = i+1, j+1
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, lineEdit{'-', a[i]})
			i++
		default:
			out = append(out, lineEdit{'+', b[j]})
			j++
		}
	}
	return out
}

// writeUnified writes the edits as unified-diff hunks with a few lines of
// context around each change.
func writeUnified(w io.Writer, edits []lineEdit) {
	type pos struct{ a, b int } // line numbers before each edit, 1-based
	at := make([]pos, len(edits)+1)
	at[0] = pos{1, 1}
	for k, e := range edits {
		at[k+1] = at[k]
		if e.op != '+' {
			at[k+1].a++
		}
		if e.op != '-' {
			at[k+1].b++
		}
	}
	for k := 0; k < len(edits); {
		if edits[k].op == ' ' {
			k++
			continue
		}
		start := max(k-diffContext, 0)
		end := k
		for end < len(edits) {
			if edits[end].op != ' ' {
				end++
				continue
			}
			run := end
			for run < len(edits) && edits[run].op == ' ' {
				run++
			}
			if run == len(edits) || run-end > 2*diffContext {
				end = min(end+diffContext, len(edits))
				break
			}
			end = run
		}
		from, to := at[start], at[end]
		fmt.Fprintf(w, "@@ -%d,%d +%d,%d @@\n", from.a, to.a-from.a, from.b, to.b-from.b)
		for _, e := range edits[start:end] {
			fmt.Fprintf(w, "%c%s\n", e.op, e.line)
		}
		k = end
	}
}

func splitLines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}
