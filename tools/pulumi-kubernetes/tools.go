//go:build tools

// Package tools pins the dependencies of the pulumi-resource-kubernetes build.
// scripts/toolchain copies the provider's cmd/pulumi-resource-kubernetes sources
// from the module cache next to this go.mod at build time.
package tools

import (
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
	_ "github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)
