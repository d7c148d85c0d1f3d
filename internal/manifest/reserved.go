package manifest

import "strings"

// IsReserved says whether name is one the operator's installation uses.
func IsReserved(name string) bool { return name == "envop" || strings.HasPrefix(name, "envop-") }
