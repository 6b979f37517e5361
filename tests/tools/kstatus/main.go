// Command kstatus is a test tool of isc-operator. It judges objects exactly as GitOps tools do:
//
//	kstatus <file.json|->                    status computed by sigs.k8s.io/cli-utils kstatus
//	                                         (what Flux `wait`/`healthChecks` and kubectl-based
//	                                         tooling use), printed as {"status":..,"message":..}
//	kstatus lua-health <script.lua> <file.json|->
//	                                         an Argo CD health script run with gopher-lua the way
//	                                         Argo CD runs it, printed as {"status":..,"message":..}
//
// The object is one Kubernetes object as `kubectl get -o json` prints it. Errors go to stderr
// with exit code 1; a usage error exits 2.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// verdict is what both subcommands print: one JSON line.
type verdict struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

func main() {
	args := os.Args[1:]
	var (
		out verdict
		err error
	)
	switch {
	case len(args) == 1 && args[0] != "lua-health":
		out, err = computeKstatus(args[0])
	case len(args) == 3 && args[0] == "lua-health":
		out, err = runHealthScript(args[1], args[2])
	default:
		fmt.Fprintln(os.Stderr, "usage: kstatus <file.json|->\n       kstatus lua-health <script.lua> <file.json|->")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kstatus:", err)
		os.Exit(1)
	}
	line, err := json.Marshal(out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kstatus:", err)
		os.Exit(1)
	}
	fmt.Println(string(line))
}

// readObject decodes one object the way client-go decodes API responses into Unstructured
// (integers become int64, as they are in Argo CD's and Flux's informer caches).
func readObject(path string) (*unstructured.Unstructured, error) {
	var (
		data []byte
		err  error
	)
	if path == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the object: %w", err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("decoding the object from %s: %w", path, err)
	}
	return obj, nil
}

// computeKstatus is status.Compute from cli-utils, nothing added.
func computeKstatus(path string) (verdict, error) {
	obj, err := readObject(path)
	if err != nil {
		return verdict{}, err
	}
	res, err := status.Compute(obj)
	if err != nil {
		return verdict{}, fmt.Errorf("status.Compute: %w", err)
	}
	return verdict{Status: res.Status.String(), Message: res.Message}, nil
}
