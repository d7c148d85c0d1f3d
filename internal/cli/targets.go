package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// eachTarget calls ask for every target at once and returns the answers
// in the targets' order.
func eachTarget[R any](ctx context.Context, ts []target, ask func(context.Context, target) R) []R {
	results := make([]R, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Go(func() {
			results[i] = ask(ctx, t)
		})
	}
	wg.Wait()
	return results
}

// resultErrors returns the error of each result, nil for those that
// succeeded.
func resultErrors[R any](results []R, errOf func(R) error) []error {
	errs := make([]error, len(results))
	for i, r := range results {
		errs[i] = errOf(r)
	}
	return errs
}

// worstFailure prints each environment's error but the worst on w and
// returns the worst, the one with the highest exit code, for the caller to
// print and exit with. Every environment that answered is shown anyway.
func worstFailure(w io.Writer, errs []error) error {
	var worst error
	for _, err := range errs {
		if err != nil && (worst == nil || exitCode(err) > exitCode(worst)) {
			worst = err
		}
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, worst) {
			fmt.Fprintln(w, "error:", err)
		}
	}
	return worst
}
