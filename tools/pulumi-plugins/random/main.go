// pulumi-resource-random is a small native implementation of the resources of the
// Pulumi `random` package, for offline tests.
//
// The upstream provider (github.com/pulumi/pulumi-random/provider/v4) is a bridged
// Terraform provider and is not published on the Go module proxy this project can
// reach, so warmpool serves the same resource tokens and properties itself, for use
// with the npm @pulumi/random SDK:
//
//	random:index/randomPassword:RandomPassword  random:index/randomString:RandomString
//	random:index/randomId:RandomId              random:index/randomInteger:RandomInteger
//	random:index/randomUuid:RandomUuid          random:index/randomBytes:RandomBytes
//
// Like upstream, every input forces replacement, results are generated with
// crypto/rand, and the secret outputs (password result, bytes) are marked secret.
// Not implemented: RandomPet, RandomShuffle, import, the `seed` of RandomInteger, and
// functions (invokes).
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"warmpool.dev/tools/pulumi-plugins/internal/langhost"
)

const pkg = "random:index/"

// version: the npm @pulumi/random release whose resources this mirrors, marked as ours.
const version = "4.21.2+warmpool"

type provider struct {
	pulumirpc.UnimplementedResourceProviderServer
}

func main() {
	langhost.Serve("pulumi-resource-random", func(s *grpc.Server) {
		pulumirpc.RegisterResourceProviderServer(s, &provider{})
	})
}

var (
	inOpts  = plugin.MarshalOptions{KeepUnknowns: true, SkipNulls: true}
	outOpts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true}
)

func (p *provider) Handshake(
	context.Context, *pulumirpc.ProviderHandshakeRequest,
) (*pulumirpc.ProviderHandshakeResponse, error) {
	return &pulumirpc.ProviderHandshakeResponse{AcceptSecrets: true}, nil
}

func (p *provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (p *provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *provider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *provider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

func (p *provider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func kind(urn string) string {
	i := strings.LastIndex(urn, "::")
	t := urn
	if i >= 0 {
		t = urn[:i]
	}
	if j := strings.LastIndex(t, "$"); j >= 0 {
		t = t[j+1:]
	}
	if j := strings.LastIndex(t, "::"); j >= 0 {
		t = t[j+2:]
	}
	return strings.TrimPrefix(t, pkg)
}

var supported = map[string]bool{
	"randomPassword:RandomPassword": true, "randomString:RandomString": true,
	"randomId:RandomId": true, "randomInteger:RandomInteger": true,
	"randomUuid:RandomUuid": true, "randomBytes:RandomBytes": true,
}

func (p *provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	k := kind(req.GetUrn())
	if !supported[k] {
		return nil, status.Errorf(codes.Unimplemented, "warmpool's random provider does not implement %s", k)
	}
	in, err := plugin.UnmarshalProperties(req.GetNews(), inOpts)
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	need := func(key string) {
		if v, ok := in[resource.PropertyKey(key)]; !ok || v.IsNull() {
			failures = append(failures, &pulumirpc.CheckFailure{Property: key, Reason: key + " is required"})
		}
	}
	switch k {
	case "randomPassword:RandomPassword", "randomString:RandomString", "randomBytes:RandomBytes":
		need("length")
	case "randomId:RandomId":
		need("byteLength")
	case "randomInteger:RandomInteger":
		need("min")
		need("max")
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: failures}, nil
}

// Diff: any change of an input replaces the resource, as upstream.
func (p *provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds := req.GetOldInputs()
	if olds == nil {
		olds = req.GetOlds()
	}
	oldIn, err := plugin.UnmarshalProperties(olds, inOpts)
	if err != nil {
		return nil, err
	}
	newIn, err := plugin.UnmarshalProperties(req.GetNews(), inOpts)
	if err != nil {
		return nil, err
	}
	var replaces []string
	seen := map[resource.PropertyKey]bool{}
	for key, nv := range newIn {
		seen[key] = true
		ov, ok := oldIn[key]
		if !ok && req.GetOldInputs() == nil {
			// Without old inputs, an output-only default is not a change.
			continue
		}
		if !ok || nv.ContainsUnknowns() || !nv.DeepEquals(ov) {
			replaces = append(replaces, string(key))
		}
	}
	if req.GetOldInputs() != nil {
		for key := range oldIn {
			if !seen[key] {
				replaces = append(replaces, string(key))
			}
		}
	}
	if len(replaces) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	return &pulumirpc.DiffResponse{
		Changes:  pulumirpc.DiffResponse_DIFF_SOME,
		Replaces: replaces,
		Diffs:    replaces,
	}, nil
}

func (p *provider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	in, err := plugin.UnmarshalProperties(req.GetProperties(), inOpts)
	if err != nil {
		return nil, err
	}
	id, out, err := generate(kind(req.GetUrn()), in, req.GetPreview())
	if err != nil {
		return nil, err
	}
	props, err := plugin.MarshalProperties(out, outOpts)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

// Read returns the state as it is: nothing exists outside Pulumi's state.
func (p *provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	if req.GetProperties() == nil {
		return nil, status.Error(codes.Unimplemented, "import is not supported by warmpool's random provider")
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

// Update only happens when nothing but unchanged inputs are involved: keep the state.
func (p *provider) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	return &pulumirpc.UpdateResponse{Properties: req.GetOlds()}, nil
}

func (p *provider) Delete(context.Context, *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (p *provider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: `{"name":"random","version":"` + version + `"}`}, nil
}

// ---- generation ----

func getNum(in resource.PropertyMap, key string, def float64) float64 {
	if v, ok := in[resource.PropertyKey(key)]; ok && v.IsNumber() {
		return v.NumberValue()
	}
	return def
}

func getBool(in resource.PropertyMap, key string, def bool) bool {
	if v, ok := in[resource.PropertyKey(key)]; ok && v.IsBool() {
		return v.BoolValue()
	}
	return def
}

func getString(in resource.PropertyMap, key, def string) string {
	if v, ok := in[resource.PropertyKey(key)]; ok && v.IsString() {
		return v.StringValue()
	}
	return def
}

var unknown = resource.MakeComputed(resource.NewStringProperty(""))

func generate(k string, in resource.PropertyMap, preview bool) (string, resource.PropertyMap, error) {
	out := resource.PropertyMap{}
	for key, v := range in {
		out[key] = v
	}
	if preview && in.ContainsUnknowns() {
		return "", out, nil
	}
	switch k {
	case "randomPassword:RandomPassword", "randomString:RandomString":
		return genString(k, in, out, preview)
	case "randomId:RandomId":
		n := int(getNum(in, "byteLength", 0))
		if n < 1 {
			return "", nil, fmt.Errorf("byteLength must be at least 1")
		}
		if preview {
			for _, key := range []string{"b64Std", "b64Url", "dec", "hex"} {
				out[resource.PropertyKey(key)] = unknown
			}
			return "", out, nil
		}
		b := make([]byte, n)
		if _, err := rand.Read(b); err != nil {
			return "", nil, err
		}
		prefix := getString(in, "prefix", "")
		b64url := base64.RawURLEncoding.EncodeToString(b)
		out["b64Std"] = resource.NewStringProperty(prefix + base64.StdEncoding.EncodeToString(b))
		out["b64Url"] = resource.NewStringProperty(prefix + b64url)
		out["dec"] = resource.NewStringProperty(prefix + new(big.Int).SetBytes(b).String())
		out["hex"] = resource.NewStringProperty(prefix + hex.EncodeToString(b))
		return prefix + b64url, out, nil
	case "randomInteger:RandomInteger":
		lo, hi := int64(getNum(in, "min", 0)), int64(getNum(in, "max", 0))
		if hi < lo {
			return "", nil, fmt.Errorf("min (%d) must be less than or equal to max (%d)", lo, hi)
		}
		if preview {
			out["result"] = resource.MakeComputed(resource.NewNumberProperty(0))
			return "", out, nil
		}
		r, err := rand.Int(rand.Reader, big.NewInt(hi-lo+1))
		if err != nil {
			return "", nil, err
		}
		v := lo + r.Int64()
		out["result"] = resource.NewNumberProperty(float64(v))
		return fmt.Sprint(v), out, nil
	case "randomUuid:RandomUuid":
		if preview {
			out["result"] = unknown
			return "", out, nil
		}
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return "", nil, err
		}
		b[6] = (b[6] & 0x0f) | 0x40
		b[8] = (b[8] & 0x3f) | 0x80
		u := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
		out["result"] = resource.NewStringProperty(u)
		return u, out, nil
	case "randomBytes:RandomBytes":
		n := int(getNum(in, "length", 0))
		if preview {
			out["base64"] = resource.MakeSecret(unknown)
			out["hex"] = resource.MakeSecret(unknown)
			return "", out, nil
		}
		b := make([]byte, n)
		if _, err := rand.Read(b); err != nil {
			return "", nil, err
		}
		out["base64"] = resource.MakeSecret(resource.NewStringProperty(base64.StdEncoding.EncodeToString(b)))
		out["hex"] = resource.MakeSecret(resource.NewStringProperty(hex.EncodeToString(b)))
		return "none", out, nil
	}
	return "", nil, status.Errorf(codes.Unimplemented, "warmpool's random provider does not implement %s", k)
}

const (
	lowerChars   = "abcdefghijklmnopqrstuvwxyz"
	upperChars   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	numericChars = "0123456789"
	specialChars = "!@#$%&*()-_=+[]{}<>:?"
)

func genString(k string, in, out resource.PropertyMap, preview bool) (string, resource.PropertyMap, error) {
	length := int(getNum(in, "length", 0))
	upper, lower := getBool(in, "upper", true), getBool(in, "lower", true)
	numeric := getBool(in, "numeric", getBool(in, "number", true))
	special := getBool(in, "special", true)
	minUpper, minLower := int(getNum(in, "minUpper", 0)), int(getNum(in, "minLower", 0))
	minNumeric, minSpecial := int(getNum(in, "minNumeric", 0)), int(getNum(in, "minSpecial", 0))
	specials := getString(in, "overrideSpecial", specialChars)
	if length < 1 {
		return "", nil, fmt.Errorf("length must be at least 1")
	}
	if minUpper+minLower+minNumeric+minSpecial > length {
		return "", nil, fmt.Errorf("length (%d) is less than the sum of the min* requirements", length)
	}
	for key, v := range map[string]resource.PropertyValue{
		"upper": resource.NewBoolProperty(upper), "lower": resource.NewBoolProperty(lower),
		"numeric": resource.NewBoolProperty(numeric), "number": resource.NewBoolProperty(numeric),
		"special": resource.NewBoolProperty(special),
		"minUpper": resource.NewNumberProperty(float64(minUpper)), "minLower": resource.NewNumberProperty(float64(minLower)),
		"minNumeric": resource.NewNumberProperty(float64(minNumeric)), "minSpecial": resource.NewNumberProperty(float64(minSpecial)),
	} {
		if _, ok := out[resource.PropertyKey(key)]; !ok {
			out[resource.PropertyKey(key)] = v
		}
	}
	password := k == "randomPassword:RandomPassword"
	if preview {
		if password {
			out["result"] = resource.MakeSecret(unknown)
			out["bcryptHash"] = resource.MakeSecret(unknown)
		} else {
			out["result"] = unknown
		}
		return "", out, nil
	}

	var all string
	var chars []byte
	for _, set := range []struct {
		on    bool
		chars string
		min   int
	}{{upper, upperChars, minUpper}, {lower, lowerChars, minLower}, {numeric, numericChars, minNumeric}, {special, specials, minSpecial}} {
		if !set.on || set.chars == "" {
			continue
		}
		all += set.chars
		for i := 0; i < set.min; i++ {
			c, err := pick(set.chars)
			if err != nil {
				return "", nil, err
			}
			chars = append(chars, c)
		}
	}
	if all == "" {
		return "", nil, fmt.Errorf("at least one of upper, lower, numeric and special must be true")
	}
	for len(chars) < length {
		c, err := pick(all)
		if err != nil {
			return "", nil, err
		}
		chars = append(chars, c)
	}
	for i := len(chars) - 1; i > 0; i-- { // Fisher-Yates shuffle
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", nil, err
		}
		chars[i], chars[j.Int64()] = chars[j.Int64()], chars[i]
	}
	result := string(chars)
	if !password {
		out["result"] = resource.NewStringProperty(result)
		return result, out, nil
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(result), bcrypt.DefaultCost)
	if err != nil && len(result) <= 72 {
		return "", nil, err
	}
	out["result"] = resource.MakeSecret(resource.NewStringProperty(result))
	out["bcryptHash"] = resource.MakeSecret(resource.NewStringProperty(string(hash)))
	return "none", out, nil
}

func pick(set string) (byte, error) {
	i, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
	if err != nil {
		return 0, err
	}
	return set[i.Int64()], nil
}
