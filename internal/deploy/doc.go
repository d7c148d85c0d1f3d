// Package deploy tracks deploys from acceptance to a terminal status. A
// deploy succeeds only when the rollout of its version is complete, and
// fails, with the reason, as soon as it cannot succeed. The decision is a
// pure function of the deploy and its workload's health; the Tracker feeds
// it from the health monitor, persists outcomes in the state store and
// wakes whoever waits.
package deploy
