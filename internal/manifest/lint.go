package manifest

func Lint(f *File) Diagnostics { return nil }
