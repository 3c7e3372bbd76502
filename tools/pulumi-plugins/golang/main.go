// pulumi-language-go is a Go language host for the Pulumi engine that only generates
// SDKs (`pulumi package gen-sdk --language go`) with the pulumi/pkg/v3 Go code
// generator. The upstream host is not published on the Go module proxy this project
// can reach; running Go programs is not supported.
package main

import (
	"context"
	"errors"

	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"warmpool.dev/tools/pulumi-plugins/internal/gensdk"
	"warmpool.dev/tools/pulumi-plugins/internal/langhost"
)

type host struct{ langhost.Base }

func main() {
	h := &host{langhost.Base{Name: "pulumi-language-go"}}
	langhost.Main(&h.Base, h)
}

func (h *host) Run(context.Context, *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	return nil, errors.New("pulumi-language-go here only generates SDKs; running Go programs is not supported")
}

func (h *host) GeneratePackage(
	_ context.Context, req *pulumirpc.GeneratePackageRequest,
) (*pulumirpc.GeneratePackageResponse, error) {
	return gensdk.GeneratePackage(req, func(
		pkg *schema.Package, _ schema.ReferenceLoader, req *pulumirpc.GeneratePackageRequest,
	) (map[string][]byte, error) {
		return gogen.GeneratePackage("pulumi-language-go", pkg, req.GetLocalDependencies())
	})
}
