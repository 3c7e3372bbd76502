// pulumi-language-python is a small Python language host for the Pulumi engine.
//
// Like warmpool's pulumi-language-nodejs, it replaces the upstream host, which is not
// published on the Go module proxy this project can reach. It runs
// `python -u <pulumi-language-python-exec> --monitor ... --engine ... <program> [args]`,
// where pulumi-language-python-exec is the runner script from the pulumi Python SDK
// (scripts/toolchain installs it next to this binary) and `python` is, in order:
// $PULUMI_PYTHON_CMD, <program dir>/<virtualenv option>/bin/python, python3, python.
// The pulumi package itself must be importable by that interpreter (pip install pulumi).
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	pygen "github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"warmpool.dev/tools/pulumi-plugins/internal/gensdk"
	"warmpool.dev/tools/pulumi-plugins/internal/langhost"
)

type host struct{ langhost.Base }

func main() {
	h := &host{langhost.Base{Name: "pulumi-language-python"}}
	langhost.Main(&h.Base, h)
}

// GeneratePackage generates a Python SDK (`pulumi package gen-sdk --language python`)
// with the pulumi/pkg/v3 Python code generator.
func (h *host) GeneratePackage(
	_ context.Context, req *pulumirpc.GeneratePackageRequest,
) (*pulumirpc.GeneratePackageResponse, error) {
	return gensdk.GeneratePackage(req, func(
		pkg *schema.Package, loader schema.ReferenceLoader, req *pulumirpc.GeneratePackageRequest,
	) (map[string][]byte, error) {
		return pygen.GeneratePackage("pulumi-language-python", pkg, req.GetExtraFiles(), loader)
	})
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	dir, entry, opts := langhost.ProgramLocation(req)

	python, err := findPython(dir, opts)
	if err != nil {
		return nil, err
	}
	runner, err := findRunner()
	if err != nil {
		return nil, err
	}

	args := []string{"-u", runner,
		"--monitor", req.GetMonitorAddress(),
		"--project", req.GetProject(),
		"--stack", req.GetStack(),
		"--pwd", dir,
		"--dry_run", strconv.FormatBool(req.GetDryRun()),
		"--parallel", strconv.Itoa(int(req.GetParallel())),
	}
	if h.EngineAddress != "" {
		args = append(args, "--engine", h.EngineAddress)
	}
	if req.GetOrganization() != "" {
		args = append(args, "--organization", req.GetOrganization())
	}
	if info := req.GetInfo(); info != nil && info.GetRootDirectory() != "" {
		args = append(args, "--root_directory", info.GetRootDirectory())
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	env, err := langhost.ConfigEnv(req)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if venv, ok := opts["virtualenv"].(string); ok && venv != "" {
		if !filepath.IsAbs(venv) {
			venv = filepath.Join(dir, venv)
		}
		cmd.Env = append(cmd.Env, "VIRTUAL_ENV="+venv,
			"PATH="+filepath.Join(venv, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	return langhost.RunProgram(cmd), nil
}

func findPython(dir string, opts map[string]any) (string, error) {
	if cmd := os.Getenv("PULUMI_PYTHON_CMD"); cmd != "" {
		return exec.LookPath(cmd)
	}
	if venv, ok := opts["virtualenv"].(string); ok && venv != "" {
		if !filepath.IsAbs(venv) {
			venv = filepath.Join(dir, venv)
		}
		p := filepath.Join(venv, "bin", "python")
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("the virtualenv %s has no bin/python: %w", venv, err)
		}
		return p, nil
	}
	for _, name := range []string{"python3", "python"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("could not find python3 or python on the $PATH")
}

// findRunner returns pulumi-language-python-exec from next to this binary, else from PATH.
func findRunner() (string, error) {
	const name = "pulumi-language-python-exec"
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("could not find %s next to the language host or on the $PATH", name)
}
