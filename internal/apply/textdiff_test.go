package apply

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	var a []string
	for i := 1; i <= 20; i++ {
		a = append(a, fmt.Sprintf("line %d", i))
	}
	b := append([]string(nil), a...)
	b[1] = "line 2 changed"
	b = append(b[:15], b[16:]...) // drop line 16
	b = append(b, "line 21")
	var out bytes.Buffer
	writeUnified(&out, diffLines(a, b))
	want := `@@ -1,5 +1,5 @@
 line 1
-line 2
+line 2 changed
 line 3
 line 4
 line 5
@@ -13,8 +13,8 @@
 line 13
 line 14
 line 15
-line 16
 line 17
 line 18
 line 19
 line 20
+line 21
`
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestUnifiedDiffEqualAndDisjoint(t *testing.T) {
	var out bytes.Buffer
	writeUnified(&out, diffLines([]string{"a", "b"}, []string{"a", "b"}))
	if out.Len() != 0 {
		t.Errorf("equal inputs gave %q", out.String())
	}
	writeUnified(&out, diffLines([]string{"a"}, []string{"b"}))
	if got := out.String(); got != "@@ -1,1 +1,1 @@\n-a\n+b\n" {
		t.Errorf("got %q", got)
	}
	if got := splitLines("x\ny\n"); strings.Join(got, "|") != "x|y" {
		t.Errorf("splitLines = %q", got)
	}
}
