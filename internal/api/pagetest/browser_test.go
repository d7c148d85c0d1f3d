package pagetest

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// installHint says how to get the browser the tests need.
const installHint = "install Debian's chromium (as root: apt-get update && apt-get install -y chromium), or set CHROMIUM to a Chromium binary"

// chromium returns the browser binary. A missing browser fails the test,
// never skips it: in CI (CI=true) .ci/run must have installed it.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and no chromium on PATH: the status page must be tested in a browser in CI; .ci/run should %s", installHint)
	}
	t.Fatalf("no chromium on PATH: %s", installHint)
	return ""
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// find returns the nodes under n (n included) for which match holds.
func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	if match(n) {
		out = append(out, n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		out = append(out, find(c, match)...)
	}
	return out
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func byID(doc *html.Node, id string) *html.Node {
	nodes := find(doc, func(n *html.Node) bool { v, _ := attr(n, "id"); return n.Type == html.ElementNode && v == id })
	if len(nodes) == 0 {
		return nil
	}
	return nodes[0]
}

// rows are the <tr> elements with data-service=name.
func rows(doc *html.Node, name string) []*html.Node {
	return find(doc, func(n *html.Node) bool { v, _ := attr(n, "data-service"); return n.Data == "tr" && v == name })
}

// text is the text a person could read under n: scripts and styles left out.
func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "script" || n.Data == "style") {
			return
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// shown reports whether neither n nor an ancestor has the hidden attribute.
func shown(n *html.Node) bool {
	for ; n != nil; n = n.Parent {
		if _, hidden := attr(n, "hidden"); hidden {
			return false
		}
	}
	return true
}

// visibleText is the text of the elements that are not hidden.
func visibleText(n *html.Node) string {
	if _, hidden := attr(n, "hidden"); hidden {
		return ""
	}
	if n.Type == html.TextNode {
		return n.Data
	}
	if n.Type == html.ElementNode && (n.Data == "script" || n.Data == "style" || n.Data == "title") {
		return ""
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(visibleText(c))
	}
	return b.String()
}
