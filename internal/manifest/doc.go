// Package manifest holds the environments.bitesize file format: its schema as
// Go types, a strict loader that keeps the line and column of every value,
// validation and lint. It is pure apart from reading the file itself, so the
// CLI, the operator and its API all judge a file with the same code.
//
// Loading never stops at the first mistake: every unknown field, wrong type
// and invalid value is returned as a Diagnostic naming FILE:LINE:COL and the
// field path, because a user fixing a file wants the whole list at once.
package manifest
