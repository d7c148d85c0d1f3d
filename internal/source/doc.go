// Package source fetches the repository that holds environments.bitesize and
// tells the controller when it has a new revision.
//
// A Source is a git repository reached over https, ssh or file://, or a local
// path (a git repository or a plain folder). Each Fetch returns a Snapshot: the
// revision and a read-only fs.FS of the tree at that revision. Trees are
// written to a fresh directory per revision on disk and read lazily through
// os.DirFS, so a repository is never held in memory and a Snapshot's files do
// not change under a reader while newer revisions arrive. The last few trees
// are kept (see keepTrees); older ones are removed.
//
// Remote repositories are fetched with go-git (no git binary is needed for
// https and ssh): a shallow single-branch fetch into a bare cache, always with
// a forced refspec, so force-pushes and rewritten history replace what the
// cache held instead of failing. A cache that cannot be read is cloned again.
//
// Credentials (tokens, passwords in URLs, private keys and passphrases) never
// appear in String, in errors or in logs: URLs are redacted and every error
// leaving this package is scrubbed of the secrets it was given.
//
// WithGists wraps a Source so that each Snapshot also holds the gists
// repository the file of that revision names (found by a callback, as this
// package knows nothing of the manifest), fetched with its own credentials.
//
// The Poller runs Fetch on a jittered interval and at once on Trigger (the
// webhook), and calls back only when a revision (the repository's or the
// gists repository's) or the error changes.
package source
