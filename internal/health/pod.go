package health

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// failingWaiting are the container waiting reasons that do not go away
// without a change to the spec or the cluster: the kubelet retries them with
// back-off, forever.
var failingWaiting = map[string]bool{
	ReasonCrashLoopBackOff:           true,
	ReasonImagePullBackOff:           true,
	ReasonErrImagePull:               true,
	ReasonCreateContainerConfigError: true,
	"InvalidImageName":               true,
	"ErrImageNeverPull":              true,
	"CreateContainerError":           true,
	"RunContainerError":              true,
}

// failurePriority orders failures of different pods of one workload: the
// one reported is the most telling, OOMKilled over the crash loop it causes,
// a missing secret over the back-off it triggers. Unlisted reasons come last.
var failurePriority = []string{
	ReasonOOMKilled,
	ReasonCreateContainerConfigError,
	ReasonCrashLoopBackOff,
	ReasonImagePullBackOff,
	ReasonErrImagePull,
	ReasonUnschedulable,
}

// failure is why a pod cannot run.
type failure struct {
	pod, reason, message string
}

func (f failure) priority() int {
	if i := slices.Index(failurePriority, f.reason); i >= 0 {
		return i
	}
	return len(failurePriority)
}

// waitingForClaims: the scheduler retries a pod whose claims are not bound
// yet; a new StatefulSet's pods meet this until the provisioner binds their
// claims, so it is progress, not a failure.
func waitingForClaims(msg string) bool {
	return strings.Contains(msg, "unbound immediate PersistentVolumeClaims")
}

// podFailure tells why p cannot run, if it cannot. A pod being deleted is on
// its way out and never a failure.
func podFailure(p *corev1.Pod) (failure, bool) {
	if p.DeletionTimestamp != nil {
		return failure{}, false
	}
	if c, ok := podCondition(p, corev1.PodScheduled); ok && c.Status == corev1.ConditionFalse &&
		c.Reason == corev1.PodReasonUnschedulable && !waitingForClaims(c.Message) {
		return failure{p.Name, ReasonUnschedulable, withDetail("pod cannot be scheduled", c.Message)}, true
	}
	for _, cs := range p.Status.InitContainerStatuses {
		if reason, msg, ok := containerFailure(p, "init container", cs); ok {
			return failure{p.Name, reason, msg}, true
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if reason, msg, ok := containerFailure(p, "container", cs); ok {
			return failure{p.Name, reason, msg}, true
		}
	}
	return failure{}, false
}

// containerFailure reports OOMKilled in preference to the CrashLoopBackOff it
// causes: the crash loop is the symptom, the memory limit the cause.
func containerFailure(p *corev1.Pod, what string, cs corev1.ContainerStatus) (reason, msg string, ok bool) {
	if oomKilled(cs) {
		return ReasonOOMKilled, oomMessage(p, what, cs), true
	}
	w := cs.State.Waiting
	if w == nil || !failingWaiting[w.Reason] {
		return "", "", false
	}
	if w.Reason == ReasonCrashLoopBackOff {
		return w.Reason, crashLoopMessage(what, cs), true
	}
	return w.Reason, withDetail(fmt.Sprintf("%s %q is in %s", what, cs.Name, w.Reason), w.Message), true
}

// oomKilled: killed now, or waiting to restart after being killed.
func oomKilled(cs corev1.ContainerStatus) bool {
	if t := cs.State.Terminated; t != nil {
		return t.Reason == ReasonOOMKilled
	}
	if w := cs.State.Waiting; w == nil || w.Reason != ReasonCrashLoopBackOff {
		return false
	}
	t := cs.LastTerminationState.Terminated
	return t != nil && t.Reason == ReasonOOMKilled
}

func oomMessage(p *corev1.Pod, what string, cs corev1.ContainerStatus) string {
	msg := fmt.Sprintf("%s %q was OOMKilled", what, cs.Name)
	if limit, ok := memoryLimit(p, cs.Name); ok {
		msg += fmt.Sprintf(": it used more than its memory limit of %s", limit)
	}
	return msg + restartedSuffix(cs.RestartCount)
}

func crashLoopMessage(what string, cs corev1.ContainerStatus) string {
	msg := fmt.Sprintf("%s %q is in CrashLoopBackOff%s", what, cs.Name, restartedSuffix(cs.RestartCount))
	if t := cs.LastTerminationState.Terminated; t != nil && t.ExitCode != 0 {
		msg += fmt.Sprintf("; it last exited with code %d", t.ExitCode)
		if t.Reason != "" {
			msg += fmt.Sprintf(" (%s)", t.Reason)
		}
	}
	return msg
}

func restartedSuffix(n int32) string {
	if n == 1 {
		return " (restarted 1 time)"
	}
	return fmt.Sprintf(" (restarted %d times)", n)
}

func withDetail(msg, detail string) string {
	if detail == "" {
		return msg
	}
	return msg + ": " + detail
}

func memoryLimit(p *corev1.Pod, container string) (string, bool) {
	for _, list := range [][]corev1.Container{p.Spec.Containers, p.Spec.InitContainers} {
		for _, c := range list {
			if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok && c.Name == container {
				return q.String(), true
			}
		}
	}
	return "", false
}

// worstFailure is the most telling failure among pods that keep, with the
// number of failing pods.
func worstFailure(pods []*corev1.Pod, keep func(*corev1.Pod) bool) (failure, int, bool) {
	var worst failure
	n := 0
	for _, p := range pods {
		if !keep(p) {
			continue
		}
		f, ok := podFailure(p)
		if !ok {
			continue
		}
		n++
		if n == 1 || f.priority() < worst.priority() || (f.priority() == worst.priority() && f.pod < worst.pod) {
			worst = f
		}
	}
	return worst, n, n > 0
}

// failureMessage tells how many pods share the trouble when more than one.
func failureMessage(f failure, failing int) string {
	if failing <= 1 {
		return f.message
	}
	return fmt.Sprintf("%s (and %d more failing pods)", f.message, failing-1)
}

// summarizePods summarises pods sorted by name.
func summarizePods(pods []*corev1.Pod) []Pod {
	if len(pods) == 0 {
		return nil
	}
	out := make([]Pod, 0, len(pods))
	for _, p := range pods {
		out = append(out, summarizePod(p))
	}
	slices.SortFunc(out, func(a, b Pod) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

func summarizePod(p *corev1.Pod) Pod {
	s := Pod{
		Name:       p.Name,
		Phase:      string(p.Status.Phase),
		Ready:      podReady(p),
		Restarts:   restarts(p),
		Containers: containerNames(p),
	}
	if st := p.Status.StartTime; st != nil {
		t := st.Time
		s.StartedAt = &t
	}
	if f, ok := podFailure(p); ok {
		s.Reason, s.Message = f.reason, f.message
	} else {
		s.Reason, s.Message = podProgress(p)
	}
	return s
}

// podProgress says why a pod that is not failing is not ready yet, if it
// is not.
func podProgress(p *corev1.Pod) (reason, msg string) {
	switch {
	case p.DeletionTimestamp != nil:
		return "Terminating", ""
	case p.Status.Reason != "":
		return p.Status.Reason, p.Status.Message
	case p.Status.Phase == corev1.PodSucceeded:
		return "Completed", ""
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			return w.Reason, w.Message
		}
	}
	for _, t := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodReady} {
		if c, ok := podCondition(p, t); ok && c.Status != corev1.ConditionTrue {
			return c.Reason, c.Message
		}
	}
	return "", ""
}

func podCondition(p *corev1.Pod, t corev1.PodConditionType) (corev1.PodCondition, bool) {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c, true
		}
	}
	return corev1.PodCondition{}, false
}

func podReady(p *corev1.Pod) bool {
	c, ok := podCondition(p, corev1.PodReady)
	return ok && c.Status == corev1.ConditionTrue
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, cs := range p.Status.ContainerStatuses {
		n += cs.RestartCount
	}
	return n
}

func containerNames(p *corev1.Pod) []string {
	names := make([]string, 0, len(p.Spec.Containers))
	for _, c := range p.Spec.Containers {
		names = append(names, c.Name)
	}
	return names
}
