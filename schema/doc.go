// Package schema embeds the JSON Schema of environments.bitesize, for
// editors and for tools that want to check a file without envop. The
// manifest package tests that it lists exactly the fields the loader knows.
package schema

import _ "embed"

// Environments is the JSON Schema of environments.bitesize.
//
//go:embed environments.schema.json
var Environments []byte
