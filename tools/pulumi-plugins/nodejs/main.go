// pulumi-language-nodejs is a small Node.js language host for the Pulumi engine.
//
// The upstream host is its own Go module inside the pulumi repository and is not
// published on the Go module proxy this project can reach, so warmpool builds this
// replacement against github.com/pulumi/pulumi/sdk/v3. It runs a program the way the
// upstream host does: `node [nodeargs] <@pulumi/pulumi/cmd/run> --monitor=...
// --engine=... --project=... --stack=... --pwd=<dir> [--dry-run] <entry> [args]`, with
// the stack configuration in PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS. The run script
// comes from the program's own node_modules, so behaviour follows the npm
// @pulumi/pulumi version. Runtime options honoured: typescript, tsconfig, nodeargs.
// See tools/README.md for what it leaves out.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"warmpool.dev/tools/pulumi-plugins/internal/langhost"
)

type host struct{ langhost.Base }

func main() {
	h := &host{langhost.Base{Name: "pulumi-language-nodejs"}}
	langhost.Main(&h.Base, h)
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	dir, entry, opts := langhost.ProgramLocation(req)

	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	runScript, err := locateRunScript(nodeBin, dir)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	var args []string
	if nodeargs, ok := opts["nodeargs"].(string); ok && nodeargs != "" {
		args = append(args, strings.Fields(nodeargs)...)
	}
	args = append(args, runScript)
	if req.GetMonitorAddress() != "" {
		args = append(args, "--monitor="+req.GetMonitorAddress())
	}
	if h.EngineAddress != "" {
		args = append(args, "--engine="+h.EngineAddress)
	}
	if req.GetOrganization() != "" {
		args = append(args, "--organization="+req.GetOrganization())
	}
	args = append(args, "--project="+req.GetProject(), "--stack="+req.GetStack(), "--pwd="+dir)
	if info := req.GetInfo(); info != nil && info.GetRootDirectory() != "" {
		args = append(args, "--root-directory="+info.GetRootDirectory())
	}
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if req.GetQueryMode() {
		args = append(args, "--query-mode")
	}
	if req.GetParallel() > 0 {
		args = append(args, fmt.Sprintf("--parallel=%d", req.GetParallel()))
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	env, err := langhost.ConfigEnv(req)
	if err != nil {
		return nil, err
	}
	typescript := true
	if v, ok := opts["typescript"].(bool); ok {
		typescript = v
	}
	env = append(env, fmt.Sprintf("PULUMI_NODEJS_TYPESCRIPT=%t", typescript))
	if tsconfig, ok := opts["tsconfig"].(string); ok && tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+tsconfig)
	}

	cmd := exec.CommandContext(ctx, nodeBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	return langhost.RunProgram(cmd), nil
}

// locateRunScript resolves @pulumi/pulumi/cmd/run the way Node does from the program directory.
func locateRunScript(nodeBin, dir string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(nodeBin, "-e", "process.stdout.write(require.resolve('@pulumi/pulumi/cmd/run'))")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("It looks like the Pulumi SDK has not been installed. Have you run npm install? "+
			"(could not resolve @pulumi/pulumi/cmd/run from %s: %v: %s)", dir, err, strings.TrimSpace(stderr.String()))
	}
	return filepath.Clean(strings.TrimSpace(stdout.String())), nil
}
