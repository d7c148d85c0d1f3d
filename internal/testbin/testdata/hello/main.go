// Command hello is the main package TestBuild builds.
package main

import "fmt"

func main() { fmt.Println("hello") }
