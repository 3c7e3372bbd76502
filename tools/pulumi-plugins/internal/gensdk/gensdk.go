// Package gensdk implements the GeneratePackage call of the language hosts (what
// `pulumi package gen-sdk` asks a host for) with the code generators of
// github.com/pulumi/pulumi/pkg/v3, the same ones the upstream hosts use.
package gensdk

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Generator turns a bound package into files (paths relative to the output directory).
type Generator func(pkg *schema.Package, loader schema.ReferenceLoader, req *pulumirpc.GeneratePackageRequest) (map[string][]byte, error)

// GeneratePackage binds the request's schema (references to other packages are
// resolved through the engine's loader), generates the SDK and writes it under
// req.Directory. Schema errors come back as diagnostics, like upstream.
func GeneratePackage(req *pulumirpc.GeneratePackageRequest, gen Generator) (*pulumirpc.GeneratePackageResponse, error) {
	var loader schema.ReferenceLoader
	if req.GetLoaderTarget() != "" {
		client, err := schema.NewLoaderClient(req.GetLoaderTarget())
		if err != nil {
			return nil, err
		}
		defer client.Close()
		loader = client
	}

	var spec schema.PackageSpec
	if err := json.Unmarshal([]byte(req.GetSchema()), &spec); err != nil {
		return nil, fmt.Errorf("parsing the package schema: %w", err)
	}
	var bindLoader schema.Loader
	if loader != nil {
		bindLoader = loader
	}
	pkg, diags, err := schema.BindSpec(spec, bindLoader, schema.ValidationOptions{AllowDanglingReferences: true})
	if err != nil {
		return nil, err
	}
	rpcDiags := plugin.HclDiagnosticsToRPCDiagnostics(diags)
	if diags.HasErrors() {
		return &pulumirpc.GeneratePackageResponse{Diagnostics: rpcDiags}, nil
	}

	files, err := gen(pkg, loader, req)
	if err != nil {
		return nil, err
	}
	for name, data := range files {
		out := filepath.Join(req.GetDirectory(), name)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(out, data, 0o644); err != nil {
			return nil, err
		}
	}
	return &pulumirpc.GeneratePackageResponse{Diagnostics: rpcDiags}, nil
}
