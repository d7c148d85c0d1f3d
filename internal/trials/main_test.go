package trials

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/envop/envop/internal/testbin"
	"github.com/envop/envop/internal/testcluster"
)

// envopBin is the operator binary every trial runs: the one make test
// built, or one built once for this package.
var envopBin string

// long selects the long form of every trial (make trials).
var long = os.Getenv("ENVOP_TRIALS") == "long"

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "envop-trials-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "trials:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	envopBin, err = testbin.Envop(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "trials:", err)
		return 1
	}
	code := testcluster.Main(m)
	if err := finish(code); err != nil {
		fmt.Fprintln(os.Stderr, "trials:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// pick returns the short or the long form's value.
func pick[T any](short, longForm T) T {
	if long {
		return longForm
	}
	return short
}

// newRand returns a generator seeded from ENVOP_TRIALS_SEED or at random;
// the seed is logged so a failing run can be replayed.
func newRand(t *testing.T) *rand.Rand {
	seed := rand.Uint64()
	if s := os.Getenv("ENVOP_TRIALS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("ENVOP_TRIALS_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (replay with ENVOP_TRIALS_SEED=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x5eed))
}
