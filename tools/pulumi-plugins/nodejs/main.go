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
//
// It also runs source-based plugins (a directory with PulumiPlugin.yaml, runtime
// nodejs, e.g. a component provider) for the engine through RunPlugin: `node
// [nodeargs] <@pulumi/pulumi/cmd/run-plugin> <plugin dir> [args]`, streaming the
// plugin's stdout (where it prints its port first) and stderr back to the engine.
// See tools/README.md for what it leaves out.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

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
	env = append(env, typescriptEnv(opts)...)

	cmd := exec.CommandContext(ctx, nodeBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	return langhost.RunProgram(cmd), nil
}

// RunPlugin runs a source-based plugin: `node [nodeargs] <@pulumi/pulumi/cmd/run-plugin>
// <plugin dir> [args]` in the engine's working directory with the environment the
// engine gives, streaming stdout and stderr back and ending with the exit code.
// The SDK's run-plugin requires the plugin directory (its package.json `main`), and
// when that module exports ComponentResource classes it serves them as a component
// provider, inferring the schema from the TypeScript sources next to it.
func (h *host) RunPlugin(
	req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer,
) error {
	// exec copies stdout and stderr on two goroutines; gRPC streams allow one sender.
	var mu sync.Mutex
	send := func(resp *pulumirpc.RunPluginResponse) error {
		mu.Lock()
		defer mu.Unlock()
		return server.Send(resp)
	}
	stdout := writerFunc(func(b []byte) error {
		return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}})
	})
	stderr := writerFunc(func(b []byte) error {
		return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}})
	})

	dir, opts := req.GetPwd(), map[string]any{}
	if info := req.GetInfo(); info != nil {
		if info.GetProgramDirectory() != "" {
			dir = info.GetProgramDirectory()
		}
		if info.GetOptions() != nil {
			opts = info.GetOptions().AsMap()
		}
	} else if req.GetProgram() != "" {
		dir = req.GetProgram()
	}

	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	runScript, err := locateScript(nodeBin, dir, "@pulumi/pulumi/cmd/run-plugin")
	if err != nil {
		return err
	}

	var args []string
	if nodeargs, ok := opts["nodeargs"].(string); ok && nodeargs != "" {
		args = append(args, strings.Fields(nodeargs)...)
	}
	args = append(args, runScript, dir)
	args = append(args, req.GetArgs()...)

	env := req.GetEnv()
	if len(env) == 0 {
		env = os.Environ()
	}
	env = append(env, typescriptEnv(opts)...)

	cmd := exec.CommandContext(server.Context(), nodeBin, args...)
	cmd.Dir = req.GetPwd()
	if cmd.Dir == "" {
		cmd.Dir = dir
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	code := int32(0)
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return fmt.Errorf("could not run plugin %s: %w", dir, err)
		}
		code = -1
		if status, ok := exitErr.Sys().(syscall.WaitStatus); ok && status.Exited() {
			code = int32(status.ExitStatus())
		}
	}
	// cmd.Run has copied all output by now: the exit code is the last message.
	return send(&pulumirpc.RunPluginResponse{
		Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: code},
	})
}

// writerFunc sends each chunk written to it (copied: the caller reuses its buffer).
type writerFunc func([]byte) error

func (f writerFunc) Write(p []byte) (int, error) {
	if err := f(append([]byte(nil), p...)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// locateRunScript resolves @pulumi/pulumi/cmd/run the way Node does from the program directory.
func locateRunScript(nodeBin, dir string) (string, error) {
	return locateScript(nodeBin, dir, "@pulumi/pulumi/cmd/run")
}

// locateScript resolves a module the way Node does from dir.
func locateScript(nodeBin, dir, module string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(nodeBin, "-e", "process.stdout.write(require.resolve(process.argv[1]))", module)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("It looks like the Pulumi SDK has not been installed. Have you run npm install? "+
			"(could not resolve %s from %s: %v: %s)", module, dir, err, strings.TrimSpace(stderr.String()))
	}
	return filepath.Clean(strings.TrimSpace(stdout.String())), nil
}

// typescriptEnv turns the runtime options `typescript` (default true) and `tsconfig` into the
// variables the SDK's run and run-plugin scripts read.
func typescriptEnv(opts map[string]interface{}) []string {
	typescript := true
	if v, ok := opts["typescript"].(bool); ok {
		typescript = v
	}
	env := []string{fmt.Sprintf("PULUMI_NODEJS_TYPESCRIPT=%t", typescript)}
	if tsconfig, ok := opts["tsconfig"].(string); ok && tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+tsconfig)
	}
	return env
}
