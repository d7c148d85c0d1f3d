package manifest

import (
	"regexp"
	"sort"
	"strings"
)

// didYouMean names the known field of table that key was most likely
// meant to be, as a hint for an unknown field ("" when none is close):
// the same name in another case or spelling of its separators
// (External_URL, externalUrl for external_url), else, for a key of four
// letters or more, the nearest name within one edit (two from six
// letters), a transposition counting as one. Ties go to the first name
// in sorted order, so the hint is the same on every run.
func didYouMean[T any](key string, table fieldTable[T]) string {
	names := make([]string, 0, len(table))
	for name := range table {
		names = append(names, name)
	}
	sort.Strings(names)
	folded := foldName(key)
	for _, name := range names {
		if foldName(name) == folded {
			return hint(name)
		}
	}
	if len(key) < 4 {
		return ""
	}
	limit := 1
	if len(key) >= 6 {
		limit = 2
	}
	best, bestDist := "", limit+1
	for _, name := range names {
		if dist := editDistance(strings.ToLower(key), strings.ToLower(name), limit); dist < bestDist {
			best, bestDist = name, dist
		}
	}
	if best == "" {
		return ""
	}
	return hint(best)
}

func hint(name string) string { return ": did you mean " + name + "?" }

// foldName lowercases a name and drops its separators.
func foldName(s string) string {
	s = strings.ToLower(s)
	return strings.NewReplacer("_", "", "-", "").Replace(s)
}

// editDistance is the optimal string alignment distance of a and b
// (insertions, deletions, substitutions and transpositions of adjacent
// bytes), or limit+1 when it is larger than limit. Field names are short:
// the whole table is computed.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], limit+1)
}

// environmentPath matches the path of an environment: environments[N].
var environmentPath = regexp.MustCompile(`^environments\[[0-9]+\]$`)

// misplaced is a hint for an unknown field of an environment that is a
// field of a service: a service written without its services list.
func misplaced(path, key string) string {
	if !environmentPath.MatchString(path) || !isServiceField(key) {
		return ""
	}
	return ": " + key + " is a field of a service: list the service under services"
}

// isServiceField reports whether key is a field of a service. It is set
// at init: serviceFields decodes through decodeStruct, which calls it.
var isServiceField func(key string) bool

func init() {
	isServiceField = func(key string) bool { _, ok := serviceFields[key]; return ok }
}
