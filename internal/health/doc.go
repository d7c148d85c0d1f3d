// Package health tells whether the workloads of an environment run the way
// their current spec asks: green when the rollout of the current spec is
// complete, orange while it progresses, red with a reason when it failed or
// cannot progress.
//
// It has two halves. The evaluators (EvaluateDeployment, EvaluateStatefulSet,
// EvaluateJob, EvaluateCronJob) are pure: objects in, a Workload out, so every
// rule is pinned down by table tests on hand-built objects. The Monitor is
// the I/O: namespace-scoped informers whose caches feed the evaluators, so
// asking for the status never costs an API request. Results are cached per
// workload and recomputed only after a watched object of that workload
// changed, which keeps a status endpoint cheap under heavy polling.
//
// Red is reported from what the pods of the new ReplicaSet (or revision)
// say, without waiting for the rollout's progress deadline: a crash loop is
// red on its first back-off. Failures of old pods being replaced are ignored,
// they are on their way out.
package health
