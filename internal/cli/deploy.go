package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/client"
)

// waitFlags are the flags of commands that can wait for a deploy.
type waitFlags struct {
	wait     bool
	timeout  time.Duration
	logLines int
	// slice is the longest single long poll; the server answers earlier
	// when the deploy ends.
	slice time.Duration
}

func (w *waitFlags) bind(fs *pflag.FlagSet) {
	fs.BoolVar(&w.wait, "wait", false, "wait until the deploy succeeds or fails, showing progress")
	fs.DurationVar(&w.timeout, "timeout", 10*time.Minute, "with --wait, how long to wait in each environment (exit 70 when it runs out)")
	fs.IntVar(&w.logLines, "log-lines", 30, "log lines shown per failing pod (1-500)")
	fs.DurationVar(&w.slice, "poll-slice", 20*time.Second, "longest single long poll of the deploy")
	_ = fs.MarkHidden("poll-slice")
}

func (w *waitFlags) check() error {
	switch {
	case w.timeout <= 0:
		return exitf(ExitUsage, "--timeout must be positive")
	case w.logLines < 1 || w.logLines > 500:
		return exitf(ExitUsage, "--log-lines must be from 1 to 500")
	case w.slice < time.Second:
		return exitf(ExitUsage, "--poll-slice must be at least 1s")
	}
	return nil
}

func newDeployCmd(streams Streams) *cobra.Command {
	var cf clientFlags
	var wf waitFlags
	var application string
	cmd := &cobra.Command{
		Use:   "deploy SERVICE VERSION [--wait] [--env a,b,c]",
		Short: "Deploy a version of a service, in one or several environments in order",
		Long: `Deploy asks each environment's operator to run VERSION of SERVICE (POST /deploy).
Without --wait it prints the deploy id of each environment and exits 0 once they are accepted.
With --wait it waits in each environment, in the order given, until the deploy succeeds or fails,
and stops at the first that does not succeed; on failure it prints the reason and the failing pods'
last log lines.

Exit status: 0 deployed, 1 the deploy failed, 2 bad usage or the request was refused (4xx),
3 an endpoint was unreachable or failed (5xx), 70 --timeout ran out.`,
		Example: `  envop deploy web "$VERSION" --wait --env staging,production
  ENVOP_ENDPOINT=https://deploy.example.com ENVOP_TOKEN=... envop deploy web 1.4.2 --wait --timeout 5m`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := wf.check(); err != nil {
				return err
			}
			if strings.TrimSpace(args[0]) == "" || strings.TrimSpace(args[1]) == "" {
				return exitf(ExitUsage, "SERVICE and VERSION must not be empty")
			}
			ts, err := cf.targets(cmd.Flags(), false)
			if err != nil {
				return err
			}
			req := client.DeployRequest{Name: args[0], Version: args[1], Application: application}
			r := newDeployRun(streams, cf.output, wf, "deploy", args[0], func(ctx context.Context, c *client.Client) (client.Deploy, error) {
				return c.Deploy(ctx, req)
			})
			return r.run(cmd.Context(), ts, cf.single(ts))
		},
	}
	cf.bind(cmd.Flags())
	wf.bind(cmd.Flags())
	cmd.Flags().StringVar(&application, "application", "",
		"optional check, from the original API: the service's application in the manifest (else its name); another is refused (422)")
	return cmd
}

// deployResult is what -o json|yaml prints for each environment.
type deployResult struct {
	Environment string         `json:"environment"`
	Endpoint    string         `json:"endpoint"`
	Deploy      *client.Deploy `json:"deploy,omitempty"`
	TimedOut    bool           `json:"timed_out,omitempty"`
	Pods        []client.Pod   `json:"pods,omitempty"`
	Error       string         `json:"error,omitempty"`
}

// singleDeploy is what -o json|yaml prints for one environment: the deploy
// as GET /deploys/{id} gives it, with the failing pods when it did not
// succeed.
type singleDeploy struct {
	*client.Deploy
	TimedOut bool         `json:"timed_out,omitempty"`
	Pods     []client.Pod `json:"pods,omitempty"`
}

// deployRun starts a deploy (or rollback) in each environment in order and
// optionally waits for it.
type deployRun struct {
	streams Streams
	output  string
	wait    waitFlags
	verb    string
	service string
	start   func(context.Context, *client.Client) (client.Deploy, error)
	// text receives what people read: stdout, or stderr when stdout carries
	// JSON or YAML.
	text io.Writer
	tty  bool
}

func newDeployRun(streams Streams, output string, wf waitFlags, verb, service string, start func(context.Context, *client.Client) (client.Deploy, error)) *deployRun {
	r := &deployRun{streams: streams, output: output, wait: wf, verb: verb, service: service, start: start, text: streams.Out}
	if output != "" {
		r.text = streams.Err
	}
	r.tty = isTerminal(r.text)
	return r
}

// run deploys to each target in order and stops at the first failure,
// whose error (and exit code) it returns. one: see clientFlags.single.
func (r *deployRun) run(ctx context.Context, ts []target, one bool) error {
	var results []deployResult
	var failure error
	for i, t := range ts {
		res, err := r.one(ctx, t)
		results = append(results, res)
		if err != nil {
			failure = err
			if rest := ts[i+1:]; len(rest) > 0 {
				fmt.Fprintf(r.text, "stopped: %s left untouched\n", strings.Join(targetNames(rest), ", "))
			}
			break
		}
	}
	if r.output != "" {
		err := writeResults(r.streams.Out, r.output, one, results, func(res deployResult) any {
			if res.Deploy == nil {
				return nil
			}
			return singleDeploy{Deploy: res.Deploy, TimedOut: res.TimedOut, Pods: res.Pods}
		})
		if err != nil && failure == nil {
			return err
		}
	}
	return failure
}

func (r *deployRun) one(ctx context.Context, t target) (deployResult, error) {
	res := deployResult{Environment: t.Name, Endpoint: t.Client.Endpoint()}
	d, err := r.start(ctx, t.Client)
	if err != nil {
		res.Error = err.Error()
		return res, apiFailure(t, fmt.Errorf("%s %s: %w", r.verb, r.service, err))
	}
	res.Deploy = &d
	if !r.wait.wait {
		if r.output == "" {
			fmt.Fprintln(r.streams.Out, d.ID)
		}
		fmt.Fprintf(r.streams.Err, "%s: %s of %s %s accepted: %s\n", t.Name, r.verb, r.service, d.Version, d.ID)
		return res, nil
	}
	fmt.Fprintf(r.text, "%s: %s of %s %s started (%s); waiting up to %s\n", t.Name, r.verb, r.service, d.Version, d.ID, r.wait.timeout)
	begun := time.Now()
	final, timedOut, err := r.waitFor(ctx, t, d)
	if err != nil {
		res.Error = err.Error()
		return res, apiFailure(t, fmt.Errorf("wait for %s %s: %w", r.verb, d.ID, err))
	}
	res.Deploy = &final
	switch {
	case timedOut:
		res.TimedOut = true
		fmt.Fprintf(r.text, "%s: %s of %s %s did not finish within %s (still %s)\n", t.Name, r.verb, r.service, final.Version, r.wait.timeout, final.Status)
		res.Pods = r.reportPods(ctx, t)
		res.Error = "timed out"
		return res, exitf(ExitTimeout, "%s: %s of %s %s timed out after %s", t.Name, r.verb, r.service, final.Version, r.wait.timeout)
	case final.Status == client.StatusFailed:
		why := joinNonEmpty(": ", final.Reason, final.Message)
		fmt.Fprintf(r.text, "%s: %s of %s %s FAILED: %s\n", t.Name, r.verb, r.service, final.Version, why)
		res.Pods = r.reportPods(ctx, t)
		res.Error = why
		return res, exitf(ExitFailed, "%s: %s of %s %s failed: %s", t.Name, r.verb, r.service, final.Version, why)
	}
	fmt.Fprintf(r.text, "%s: %s %s %s succeeded in %s\n", t.Name, r.service, final.Version, r.verb, time.Since(begun).Round(time.Second))
	return res, nil
}

// Bounds of waiting.
const (
	maxTransient     = 5               // consecutive failed polls tolerated
	transientPause   = 2 * time.Second // pause after one
	minPollGap       = time.Second     // between polls a server answered early
	ttyProgressEvery = time.Second
	ciProgressEvery  = 3 * time.Second
)

// waitFor long-polls the deploy until it ends or the timeout runs out,
// showing progress meanwhile. A few failed polls in a row (an operator
// restarting) are tolerated; a refused one is not.
func (r *deployRun) waitFor(ctx context.Context, t target, d client.Deploy) (client.Deploy, bool, error) {
	deadline := time.Now().Add(r.wait.timeout)
	p := r.startProgress(ctx, t, d)
	defer p.stop()
	transient := 0
	var lastErr error // of the last poll, when it failed
	for !d.Done() {
		remaining := time.Until(deadline)
		if remaining <= 0 && lastErr != nil {
			return d, false, lastErr // the operator went away: say so, not "timed out"
		}
		if remaining <= 0 {
			return d, true, nil
		}
		asked := time.Now()
		cur, err := t.Client.GetDeploy(ctx, d.ID, min(r.wait.slice, remaining))
		lastErr = err
		switch {
		case err == nil:
			d, transient = cur, 0
			if !d.Done() && time.Since(asked) < min(r.wait.slice, remaining)/2 {
				err = sleep(ctx, min(minPollGap, time.Until(deadline)))
			}
		case exitCode(err) == ExitUnreachable && transient < maxTransient:
			transient++
			err = sleep(ctx, min(transientPause, max(time.Until(deadline), 0)))
		}
		if err != nil {
			return d, false, err
		}
	}
	return d, false, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-timer.C:
		return nil
	}
}

// progress shows a service's rollout while a deploy is waited for.
type progress struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startProgress polls the service's status in the background: on a
// terminal it redraws one line, elsewhere it writes a timestamped line
// whenever something changed. Nothing else writes to r.text until stop.
func (r *deployRun) startProgress(ctx context.Context, t target, d client.Deploy) *progress {
	ctx, cancel := context.WithCancel(ctx)
	p := &progress{cancel: cancel, done: make(chan struct{})}
	every := ciProgressEvery
	if r.tty {
		every = ttyProgressEvery
	}
	go func() {
		defer close(p.done)
		ticker := time.NewTicker(every)
		defer ticker.Stop()
		last, drawn := "", false
		for {
			s, err := t.Client.ServiceStatus(ctx, r.service)
			if ctx.Err() != nil {
				break
			}
			line := progressLine(t.Name, r.service, d.Version, s, err)
			if r.tty {
				fmt.Fprintf(r.text, "\r\x1b[K%s", audit.Truncate(line, 110))
				drawn = true
			} else if line != last {
				fmt.Fprintf(r.text, "%s %s\n", time.Now().UTC().Format(time.RFC3339), line)
			}
			last = line
			select {
			case <-ctx.Done():
			case <-ticker.C:
				continue
			}
			break
		}
		if drawn {
			fmt.Fprintln(r.text)
		}
	}()
	return p
}

func (p *progress) stop() {
	p.cancel()
	<-p.done
}

// reasonPending is the reason GET /status/{service} gives while the
// service's workload does not run the version it is driven to yet: its
// replicas are still the previous version's.
const reasonPending = "Pending"

// progressLine says how the rollout of version stands. Replica counts are
// shown only once they concern version: before the operator applied it,
// they are the previous rollout's.
func progressLine(env, service, version string, s client.Service, err error) string {
	if err != nil {
		return fmt.Sprintf("%s: %s %s: status unavailable: %v", env, service, version, err)
	}
	phase := s.Status
	if s.Reason != "" {
		phase += " (" + s.Reason + ")"
	}
	switch {
	case s.Version != version:
		return fmt.Sprintf("%s: %s %s: waiting for version %s to be applied (the service is at %s)",
			env, service, version, version, orDash(s.Version))
	case s.Reason == reasonPending:
		return fmt.Sprintf("%s: %s %s: %s, waiting for version %s to be applied", env, service, version, phase, version)
	}
	rp := s.Replicas
	return fmt.Sprintf("%s: %s %s: %s, updated %d/%d, ready %d/%d, available %d/%d",
		env, service, version, phase, rp.Updated, rp.Desired, rp.Ready, rp.Desired, rp.Available, rp.Desired)
}

// maxPodsShown bounds the pods a failure report shows.
const maxPodsShown = 5

// reportPods prints the failing pods of the service with their last log
// lines, and returns them.
func (r *deployRun) reportPods(ctx context.Context, t target) []client.Pod {
	pods, err := t.Client.Pods(ctx, r.service, r.wait.logLines)
	if err != nil {
		fmt.Fprintf(r.text, "  (pods unavailable: %v)\n", err)
		return nil
	}
	failing := failingPods(pods)
	if len(failing) == 0 {
		fmt.Fprintf(r.text, "  no failing pods among %d\n", len(pods))
		return nil
	}
	writePods(r.text, failing, maxPodsShown)
	if len(failing) > maxPodsShown {
		fmt.Fprintf(r.text, "  ... %d more failing pods: envop logs %s\n", len(failing)-maxPodsShown, r.service)
	}
	return failing
}

// failingPods are the pods that are not ready, restarted or report a
// reason.
func failingPods(pods []client.Pod) []client.Pod {
	var out []client.Pod
	for _, p := range pods {
		if !p.Ready || p.Restarts > 0 || p.Reason != "" {
			out = append(out, p)
		}
	}
	return out
}

// writePods prints at most limit pods (0: all), each with its log lines.
func writePods(w io.Writer, pods []client.Pod, limit int) {
	for i, p := range pods {
		if limit > 0 && i >= limit {
			return
		}
		fmt.Fprintf(w, "  pod %s: %s\n", p.Name, podState(p))
		switch {
		case p.LogsError != "":
			fmt.Fprintf(w, "    (logs unavailable: %s)\n", p.LogsError)
		case strings.TrimSpace(p.Logs) == "":
			fmt.Fprintln(w, "    (no log lines)")
		default:
			for line := range strings.SplitSeq(strings.TrimRight(p.Logs, "\n"), "\n") {
				fmt.Fprintf(w, "    | %s\n", line)
			}
		}
	}
}

func podState(p client.Pod) string {
	parts := []string{p.Phase}
	if p.Ready {
		parts = append(parts, "ready")
	} else {
		parts = append(parts, "not ready")
	}
	if p.Restarts > 0 {
		parts = append(parts, fmt.Sprintf("%d restarts", p.Restarts))
	}
	if why := joinNonEmpty(": ", p.Reason, p.Message); why != "" {
		parts = append(parts, why)
	}
	return joinNonEmpty(", ", parts...)
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

func targetNames(ts []target) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}
