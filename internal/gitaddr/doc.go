// Package gitaddr reads repository addresses: which forms the operator's
// --git-repo and an environment's gists_repository accept, which server an
// address names, and what a branch name may be. It does no I/O, so the
// manifest's validation and the git source apply one set of rules.
package gitaddr
