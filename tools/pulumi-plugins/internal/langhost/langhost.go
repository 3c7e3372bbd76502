// Package langhost holds what warmpool's small Pulumi language hosts share: serving
// the LanguageRuntime gRPC service the way the engine expects, and the calls whose
// answer does not depend on the language.
package langhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Version is set with -ldflags "-X .../internal/langhost.Version=..." by scripts/toolchain.
var Version = "3.0.0-dev"

// ExitCodeBail is the exit code both the Node.js and the Python program runners use
// after they have already shown the user an actionable error.
const ExitCodeBail = 32

// Base implements the language-independent calls.
type Base struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	Name          string
	EngineAddress string
}

// Handshake records the engine address.
func (b *Base) Handshake(
	ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		b.EngineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

// GetPluginInfo reports the version stamped at build time.
func (b *Base) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

// GetRequiredPlugins reports nothing: providers are loaded when the program registers
// resources, from plugins on PATH, and nothing is downloaded ahead of time.
func (b *Base) GetRequiredPlugins(
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

// GetRequiredPackages reports nothing, like GetRequiredPlugins.
func (b *Base) GetRequiredPackages(
	context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

// InstallDependencies does nothing: install the program's packages yourself.
func (b *Base) InstallDependencies(
	*pulumirpc.InstallDependenciesRequest, grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	return nil
}

// ProgramLocation returns the program directory, the entry point and the runtime
// options of a run request.
func ProgramLocation(req *pulumirpc.RunRequest) (dir, entry string, opts map[string]any) {
	dir, entry, opts = req.GetPwd(), req.GetProgram(), map[string]any{}
	if info := req.GetInfo(); info != nil {
		if info.GetProgramDirectory() != "" {
			dir = info.GetProgramDirectory()
		}
		if info.GetEntryPoint() != "" {
			entry = info.GetEntryPoint()
		}
		if info.GetOptions() != nil {
			opts = info.GetOptions().AsMap()
		}
	}
	if entry == "" {
		entry = "."
	}
	return dir, entry, opts
}

// ConfigEnv returns PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS for the program.
func ConfigEnv(req *pulumirpc.RunRequest) ([]string, error) {
	// A stack without config sends none: the runners expect an object, not null.
	cfg := req.GetConfig()
	if cfg == nil {
		cfg = map[string]string{}
	}
	config, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	keys := req.GetConfigSecretKeys()
	if keys == nil {
		keys = []string{}
	}
	secretKeys, err := json.Marshal(keys)
	if err != nil {
		return nil, err
	}
	return []string{"PULUMI_CONFIG=" + string(config), "PULUMI_CONFIG_SECRET_KEYS=" + string(secretKeys)}, nil
}

// RunProgram runs cmd with the host's stdout and stderr (the engine shows them) and
// turns its exit status into a RunResponse.
func RunProgram(cmd *exec.Cmd) *pulumirpc.RunResponse {
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	if err == nil {
		return &pulumirpc.RunResponse{}
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if status, ok := exitErr.Sys().(syscall.WaitStatus); ok && status.Exited() {
			if status.ExitStatus() == ExitCodeBail {
				return &pulumirpc.RunResponse{Bail: true}
			}
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("Program exited with non-zero exit code: %d", status.ExitStatus()),
			}
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited unexpectedly: %v", exitErr)}
	}
	return &pulumirpc.RunResponse{
		Error: fmt.Sprintf("Problem executing program (could not run language executor): %v", err),
	}
}

// Main serves a language host.
func Main(base *Base, srv pulumirpc.LanguageRuntimeServer) {
	base.EngineAddress = engineAddressFromArgs()
	Serve(base.Name, func(s *grpc.Server) {
		pulumirpc.RegisterLanguageRuntimeServer(s, srv)
	})
}

// Serve serves a plugin the way the engine expects: the engine starts it with optional
// flags and its own address as the last argument, and reads the port from stdout.
// The plugin exits when the engine goes away.
func Serve(name string, register func(*grpc.Server)) {
	engineAddress := engineAddressFromArgs()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if engineAddress != "" {
		go func() {
			_ = rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, cancel)
		}()
	}
	done := make(chan bool)
	go func() {
		<-ctx.Done()
		close(done)
	}()

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: done,
		Init: func(s *grpc.Server) error {
			register(s)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: could not start: %v\n", name, err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

func engineAddressFromArgs() string {
	var addr string
	for _, a := range os.Args[1:] {
		if !strings.HasPrefix(a, "-") {
			addr = a
		}
	}
	return addr
}
