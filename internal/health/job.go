package health

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// EvaluateJob computes the health of j from the pods it owns: green once it
// succeeded, red when it failed (or will: FailureTarget) or a pod cannot run,
// orange while it runs.
func EvaluateJob(j *batchv1.Job, pods []*corev1.Pod) Workload {
	w := newWorkload(KindJob, &j.ObjectMeta, &j.Spec.Template)
	w.ObservedGeneration = j.Generation
	succeeded := succeededPods(j)
	w.Replicas = Replicas{
		Desired:   replicasOrOne(j.Spec.Completions),
		Updated:   j.Status.Active + succeeded,
		Ready:     deref(j.Status.Ready),
		Available: succeeded,
	}
	w.Pods = summarizePods(pods)
	w.Status, w.Reason, w.Message = jobVerdict(j, pods)
	return w
}

func jobVerdict(j *batchv1.Job, pods []*corev1.Pod) (Status, string, string) {
	if _, ok := jobCondition(j, batchv1.JobComplete, batchv1.JobSuccessCriteriaMet); ok {
		return Green, "", ""
	}
	if c, ok := jobCondition(j, batchv1.JobFailed, batchv1.JobFailureTarget); ok {
		return Red, cmp.Or(c.Reason, string(batchv1.JobFailed)), withDetail("the job failed", c.Message)
	}
	if f, n, ok := worstFailure(pods, func(*corev1.Pod) bool { return true }); ok {
		return Red, f.reason, failureMessage(f, n)
	}
	if j.Spec.Suspend != nil && *j.Spec.Suspend {
		return Orange, ReasonSuspended, "the job is suspended"
	}
	return Orange, ReasonProgressing, jobProgress(j)
}

// succeededPods counts the pods the controller already knows succeeded but
// has not moved into status.succeeded yet: a Job meets its success criteria
// (and turns green) before that.
func succeededPods(j *batchv1.Job) int32 {
	n := j.Status.Succeeded
	if u := j.Status.UncountedTerminatedPods; u != nil {
		n += int32(len(u.Succeeded))
	}
	return n
}

func jobProgress(j *batchv1.Job) string {
	msg := fmt.Sprintf("%d active, %d of %d completions succeeded",
		j.Status.Active, succeededPods(j), replicasOrOne(j.Spec.Completions))
	if j.Status.Failed > 0 {
		msg += fmt.Sprintf(", %d failed pods retried (backoff limit %d)", j.Status.Failed, backoffLimit(j))
	}
	return msg
}

func backoffLimit(j *batchv1.Job) int32 {
	if j.Spec.BackoffLimit == nil {
		return 6
	}
	return *j.Spec.BackoffLimit
}

// jobCondition returns the first condition of one of types that is true.
func jobCondition(j *batchv1.Job, types ...batchv1.JobConditionType) (batchv1.JobCondition, bool) {
	for _, c := range j.Status.Conditions {
		if c.Status == corev1.ConditionTrue && slices.Contains(types, c.Type) {
			return c, true
		}
	}
	return batchv1.JobCondition{}, false
}

// EvaluateCronJob computes the health of c, kept simple on purpose: a
// schedule has no rollout, so it is green unless its last run failed.
//
// The last run is the newest of jobs (the Jobs c owns) when there is one:
// red when it failed, with its reason. Without it (Jobs created by a CronJob
// carry only the labels of the job template's metadata, so they may not be
// watched, or they were cleaned up), c's status decides: red when the last
// scheduled run is neither active nor succeeded since. A run in progress
// after a failed one is green: the CronJob is trying again.
func EvaluateCronJob(c *batchv1.CronJob, jobs []*batchv1.Job) Workload {
	w := newWorkload(KindCronJob, &c.ObjectMeta, &c.Spec.JobTemplate.Spec.Template)
	w.ObservedGeneration = c.Generation
	w.Status, w.Reason, w.Message = cronJobVerdict(c, jobs)
	return w
}

func cronJobVerdict(c *batchv1.CronJob, jobs []*batchv1.Job) (Status, string, string) {
	if last := newestJob(jobs); last != nil {
		if f, ok := jobCondition(last, batchv1.JobFailed, batchv1.JobFailureTarget); ok {
			msg := withDetail(fmt.Sprintf("the last run (job %s) failed", last.Name), f.Message)
			return Red, cmp.Or(f.Reason, string(batchv1.JobFailed)), msg
		}
		return Green, "", ""
	}
	st := c.Status
	if st.LastScheduleTime == nil || len(st.Active) > 0 {
		return Green, "", ""
	}
	if st.LastSuccessfulTime != nil && !st.LastSuccessfulTime.Before(st.LastScheduleTime) {
		return Green, "", ""
	}
	last := "never"
	if st.LastSuccessfulTime != nil {
		last = st.LastSuccessfulTime.UTC().Format(time.RFC3339)
	}
	return Red, ReasonLastRunFailed, fmt.Sprintf("the run scheduled at %s did not succeed (last success: %s)",
		st.LastScheduleTime.UTC().Format(time.RFC3339), last)
}

// newestJob is the Job created last, by name when created at once.
func newestJob(jobs []*batchv1.Job) *batchv1.Job {
	var newest *batchv1.Job
	for _, j := range jobs {
		if newest == nil || newer(j, newest) {
			newest = j
		}
	}
	return newest
}

func newer(a, b *batchv1.Job) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return b.CreationTimestamp.Before(&a.CreationTimestamp)
	}
	return a.Name > b.Name
}

func deref(n *int32) int32 {
	if n == nil {
		return 0
	}
	return *n
}
