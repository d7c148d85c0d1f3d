package manifest

import (
	"os"
	"testing"
)

func TestSmoke(t *testing.T) {
	name := os.Getenv("SMOKE")
	data, _ := os.ReadFile(name)
	_, d := Load(name, data)
	t.Log("\n" + d.String())
}
